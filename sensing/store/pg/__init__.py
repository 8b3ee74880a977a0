"""The shared PostgreSQL store: its schema, and the sync that fills it from stations."""
