"""The session store: schema and migrations, codec, the single writer, session reads, import,
reparse. All SQL lives here."""
