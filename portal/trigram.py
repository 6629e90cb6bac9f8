"""Trigram (pg_trgm) indexes for searching part of a name: `UPPER(column) LIKE '%…%'`,
as Django's `icontains` writes it on PostgreSQL. Used by migrations (the name pickers'
indexes); nothing happens on other databases.

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
Where it cannot be created the indexes are left out, with a warning: the searches still
work, reading the whole table.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

# index name -> (table, column)
Indexes = dict[str, tuple[str, str]]


def _extension(schema_editor) -> bool:
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm is not available (%s): name searches use no index", error)
        return False
    return True


def create(schema_editor, indexes: Indexes) -> None:
    if schema_editor.connection.vendor != "postgresql" or not _extension(schema_editor):
        return
    for name, (table, column) in indexes.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin ((upper({column}::text)) gin_trgm_ops)"
        )


def drop(schema_editor, indexes: Indexes) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in indexes:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def operation(indexes: Indexes) -> migrations.RunPython:
    """A migration's operation: builds the indexes, drops them when it is reversed."""

    def forward(apps, schema_editor) -> None:
        create(schema_editor, indexes)

    def backward(apps, schema_editor) -> None:
        drop(schema_editor, indexes)

    return migrations.RunPython(forward, backward)
