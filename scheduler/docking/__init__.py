"""平台对接: files exchanged with the credit publicity system and the city platform (docs/exchange.md)."""
