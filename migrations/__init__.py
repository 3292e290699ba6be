"""Alembic migrations: the schema of every node's database (SQLite and PostgreSQL)."""
