"""Ordinary MySQL tables on obemu: sqlglot-parsed statements run on a shared SQLite file."""
