"""Alembic revisions, oldest first (``r0001_…``); each one is frozen once released."""
