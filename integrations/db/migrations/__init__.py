"""Alembic migrations of the incident schema, shipped in the package (no alembic.ini)."""
