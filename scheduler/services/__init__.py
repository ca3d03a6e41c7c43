"""Services: the only code that opens transactions and writes audit events.

The UI, the CLI and the worker call these; the pure engine modules
(`scheduler.draw`, `scheduler.uscc`, ...) never touch the database.
"""
