"""portal.postgresql: Django's PostgreSQL backend with timestamps read by psycopg's C
loader. Every value must come back exactly as Django's own loader gives it: the same
instant, the same `datetime.timezone.utc`, the same refusal of what Python cannot hold."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper
from psycopg.pq import Format

from dids.models import Did
from portal.postgresql.base import TIMESTAMPTZ_OID, DatabaseWrapper, c_timestamptz_loader

pytestmark = pytest.mark.django_db

LITERALS = [
    "2026-12-02 12:00:00+00",
    "2026-12-02 12:00:00.123456+00",
    "2026-12-02 12:00:00.5-03:30",
    "2026-03-29 01:30:00+02",
    "1969-12-31 23:59:59.999999+00",
    "0999-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1900-06-01 12:00:00+01:02:03",
]
OUT_OF_RANGE = ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "10000-01-01 00:00:00+00"]


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL backend")


def read(wrapper_class, literal: str):
    wrapper = wrapper_class(dict(connection.settings_dict), alias="compare")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT %s::timestamptz", [literal])
            return cursor.fetchone()[0]
    finally:
        wrapper.close()


def outcome(wrapper_class, literal: str):
    try:
        return read(wrapper_class, literal)
    except DataError as error:
        return DataError, type(error.__cause__)


def test_the_project_uses_the_c_loader():
    postgresql_only()
    assert connection.settings_dict["ENGINE"] == "portal.postgresql"
    assert c_timestamptz_loader() is not None, "psycopg[binary] is a requirement"
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert loader is c_timestamptz_loader()


@pytest.mark.parametrize("literal", LITERALS + OUT_OF_RANGE)
def test_timestamps_read_as_djangos_own_loader_reads_them(literal):
    postgresql_only()
    ours, django = outcome(DatabaseWrapper, literal), outcome(DjangoWrapper, literal)
    assert ours == django
    if not isinstance(ours, tuple):
        assert ours.tzinfo is UTC
        assert django.tzinfo is UTC


def test_model_timestamps_and_server_side_cursors_use_it():
    postgresql_only()
    did = Did.objects.create(number="37060000001")
    Did.objects.filter(pk=did.pk).update(updated_at=did.created_at)
    fetched = Did.objects.get(pk=did.pk)
    assert fetched.updated_at == fetched.created_at == did.created_at
    assert fetched.created_at.tzinfo is UTC
    (row,) = Did.objects.filter(pk=did.pk).values_list("created_at").iterator(chunk_size=10)
    assert row == (did.created_at,)
