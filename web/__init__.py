"""HTTP helpers shared by the two programs, `bot` (customers) and `staff` (back office): errors, JSON bodies,
security headers, token hashes. Imports no domain package and no program."""
