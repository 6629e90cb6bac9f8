"""On PostgreSQL, the DID number column compares by code point (collation "C").

The contract orders DIDs by number "as PostgreSQL's C collation does". With the
column itself in "C", every index on it (the unique one, reseller+number,
user+number, status+number) serves that ORDER BY. SQLite already compares text
by code point (BINARY), so there is nothing to do there.
"""

from django.db import migrations


def to_c(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE dids_did ALTER COLUMN number TYPE varchar(50) COLLATE "C"'
        )


def from_c(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE dids_did ALTER COLUMN number TYPE varchar(50) COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("dids", "0001_initial")]

    operations = [migrations.RunPython(to_c, from_c)]
