"""Files exchanged with people and systems outside the bureau: tables in CSV and XLSX, printable PDF."""
