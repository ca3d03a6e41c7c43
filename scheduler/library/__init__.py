"""The two rosters and one list (两库一单): registry, inspectors, experts, items, conflicts; USCC; import, hand edits, listings, export."""
