"""HTTP helpers shared by the two programs, `bot` (customers) and `staff` (back office): errors, JSON bodies,
security headers, token hashes, the request rate limits' settings and client address. Imports no domain package and
no program."""
