"""The tamper-evident audit trail (hash chain) and backups."""
