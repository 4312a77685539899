"""The errors of `integrations.db` (the tree is drawn in the package docstring)."""

from __future__ import annotations

__all__ = ["DatabaseError", "MigrationError", "MissingRowError"]


class DatabaseError(Exception):
    """The database could not be reached or answered an error; the message names the call."""


class MigrationError(DatabaseError):
    """The schema could not be brought to the head revision (nothing is served then)."""


class MissingRowError(DatabaseError):
    """The call names a row that does not exist (e.g. an unknown incident id)."""
