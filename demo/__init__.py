"""The demo: a realistic, clearly marked service history for a database with none (`frontdoor demo history`), and
the generator the analytics benchmark builds its synthetic history with. Imports no web code."""
