"""On PostgreSQL, statistics on the DID number's prefixes, for the number blocks.

The blocks page (dids.overview.number_blocks) groups DIDs by `LEFT(number, n)` and
status. Without statistics on that expression the planner takes every number for a
group of its own, and aggregates a million DIDs in one process; with them it knows
how few blocks there are and counts in parallel (about twice as fast at a million
DIDs, bench/overview.py). One statistics object per prefix length the page accepts.
SQLite has no such statistics and needs none.
"""

from django.db import migrations

# dids.overview.MIN_DIGITS and MAX_DIGITS when this was written (a migration keeps its own).
MIN_DIGITS, MAX_DIGITS = 1, 20


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for digits in range(MIN_DIGITS, MAX_DIGITS + 1):
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS did_prefix_{digits} (ndistinct) "
            f"ON (left(number, {digits})), status FROM dids_did"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for digits in range(MIN_DIGITS, MAX_DIGITS + 1):
        schema_editor.execute(f"DROP STATISTICS IF EXISTS did_prefix_{digits}")


class Migration(migrations.Migration):
    dependencies = [("dids", "0005_overview_and_blocks_indexes")]

    operations = [migrations.RunPython(create, drop)]
