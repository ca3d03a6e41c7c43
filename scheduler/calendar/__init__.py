"""Working days (工作日) by the State Council's holiday schedule and the 20-working-day publication deadline."""
