"""Accounts of the planners' app: create, list, disable, reset, log in (with lock-out)."""
