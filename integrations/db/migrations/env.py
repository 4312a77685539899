"""Alembic environment: runs on the connection `integrations.db.migrate` hands in.

There is no URL mode: migrations always run inside the transaction the caller opened
(which holds the migration lock), so two replicas starting together never both migrate.
"""

from __future__ import annotations

from alembic import context

from integrations.db.schema import METADATA


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "integrations.db migrations run through integrations.db.open_database "
            "(or integrations.db.migrate.upgrade), which passes a connection"
        )
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        version_table=context.config.attributes.get("version_table", "alembic_version"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
