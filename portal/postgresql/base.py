"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django registers its own `timestamptz` loader on every connection (so that values
come back with Django's time zone object), and that loader is psycopg's pure-Python
one: several microseconds per value, the largest single cost of reading a listing's
rows (two timestamps per DID; a 1,000,000-DID export spent seconds of CPU on them).
psycopg's C loader (psycopg[binary], the `psycopg.adapters` default) returns the same
aware datetimes in the session's time zone; when that zone is UTC (USE_TZ, no
database TIME_ZONE: Django sets the session's zone so) its values carry
`datetime.timezone.utc`, exactly as Django's loader's do. Each cursor then reads
timestamps with the C loader. Without the C implementation, or in any other time
zone set-up, this is Django's backend unchanged.
"""

from __future__ import annotations

from datetime import UTC
from functools import cache

from django.db.backends.postgresql import base
from psycopg import adapters
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader as PythonTimestamptzLoader

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid


@cache
def c_timestamptz_loader() -> type | None:
    """psycopg's C `timestamptz` loader, or None without the C implementation."""
    default = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if default is None or issubclass(default, PythonTimestamptzLoader):
        return None
    return default


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        loader = c_timestamptz_loader()
        if loader is not None and self.timezone is UTC:
            # The cursor's own adapters (a copy-on-write view of the connection's).
            cursor.adapters.register_loader(TIMESTAMPTZ_OID, loader)
        return cursor
