"""Accounts, roles, permissions and bureau scope: who may do what, and on which bureau's data."""
