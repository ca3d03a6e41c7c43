"""The Pinggu district demo bureau: reference data, generated registry and roster, past months of draws and results."""
