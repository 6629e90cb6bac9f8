"""Large responses read their rows through a server-side cursor that does not wait for
the whole result (dids.streaming): WITHOUT HOLD, inside a transaction of its own that
ends when the response is closed, also when the client leaves half-way."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from dids.api.testing import DIDS_GET_URL, SECRET_HASH
from dids.exports import csv_blocks
from dids.models import Did
from dids.presentation import did_rows
from dids.streaming import CHUNK_SIZE, RowStream, fixed_join_order, read_at_once
from portal.testing.factories import DidFactory

pytestmark = pytest.mark.django_db(transaction=True)


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")


def open_cursors() -> list[tuple[str, bool]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, is_holdable FROM pg_cursors")
        return list(cursor.fetchall())


def make_dids(count: int) -> None:
    Did.objects.bulk_create(Did(number=f"3706{i:07d}") for i in range(count))


def test_a_row_stream_reads_without_hold_and_ends_its_transaction():
    postgresql_only()
    make_dids(CHUNK_SIZE + 3)
    assert not connection.in_atomic_block

    rows = RowStream(did_rows(Did.objects.in_contract_order()))
    first = next(rows)
    assert first.number == "37060000000"
    # Inside its own transaction, through a cursor that is not held past it.
    assert connection.in_atomic_block
    assert [holdable for _, holdable in open_cursors()] == [False]
    assert sum(1 for _ in rows) == CHUNK_SIZE + 2

    rows.close()
    assert not connection.in_atomic_block
    assert open_cursors() == []


def test_a_stream_closed_half_way_leaves_nothing_open():
    postgresql_only()
    make_dids(CHUNK_SIZE * 2)
    rows = RowStream(did_rows(Did.objects.in_contract_order()))
    assert next(rows).number == "37060000000"
    rows.close()  # what the server does when the client goes away
    assert not connection.in_atomic_block
    assert open_cursors() == []
    # The connection is usable again, outside any transaction.
    assert Did.objects.count() == CHUNK_SIZE * 2


def test_inside_a_callers_transaction_the_stream_opens_none_of_its_own():
    make_dids(3)

    with transaction.atomic():
        rows = RowStream(did_rows(Did.objects.in_contract_order()))
        assert [row.number for row in rows] == ["37060000000", "37060000001", "37060000002"]
        rows.close()
        assert connection.in_atomic_block  # the caller's, still open


def test_dids_get_streams_through_a_cursor_without_hold(client, portal_admin, system_api):
    postgresql_only()
    make_dids(CHUNK_SIZE + 5)
    response = client.post(DIDS_GET_URL, {"u": portal_admin.username, "hash": SECRET_HASH})
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    head = next(chunks)
    assert head.startswith(b'<?xml version="1.0" encoding="UTF-8"?><page><dids>')
    # Half-way through the body: the rows come from a cursor not held past the transaction.
    assert [holdable for _, holdable in open_cursors()] == [False]
    body = head + b"".join(chunks)
    response.close()
    assert body.count(b"<did><did>") == CHUNK_SIZE + 5  # the row tag, then its number
    assert open_cursors() == []
    assert not connection.in_atomic_block


def test_the_csv_export_left_half_way_closes_its_stream(portal_admin):
    postgresql_only()
    make_dids(CHUNK_SIZE * 3)
    blocks = csv_blocks(Did.objects.visible_to(portal_admin).in_contract_order(), portal_admin)
    assert next(blocks).startswith("did,provider,language,status")
    assert [holdable for _, holdable in open_cursors()] == [False]
    blocks.close()
    assert open_cursors() == []
    assert not connection.in_atomic_block


def test_the_export_reads_every_row_in_order(portal_admin):
    make_dids(CHUNK_SIZE + 1)
    DidFactory(number="1")  # sorts first by code point
    text = "".join(
        csv_blocks(Did.objects.in_contract_order(), User.objects.get(pk=portal_admin.pk))
    )
    lines = text.split("\r\n")
    assert lines[1].startswith("1,")
    assert lines[2].startswith("37060000000,")
    assert len([line for line in lines if line]) == 1 + CHUNK_SIZE + 2


def join_collapse_limit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW join_collapse_limit")
        return cursor.fetchone()[0]


def test_a_stream_keeps_its_joins_in_order_only_while_it_lasts():
    postgresql_only()
    make_dids(3)
    default = join_collapse_limit()
    rows = RowStream(did_rows(Did.objects.in_contract_order()))
    next(rows)
    assert join_collapse_limit() == "1"
    rows.close()
    assert join_collapse_limit() == default != "1"


FIX_JOINS = "SET LOCAL join_collapse_limit = 1"


@pytest.mark.parametrize(
    ("params", "fixed", "streamed"),
    [
        ({}, True, True),
        ({"max_results": "5"}, True, False),
        ({"from": "2", "max_results": "5"}, True, False),  # a page: read by its ids
        ({"from": "2"}, False, True),
        ({"from": "3"}, False, True),
    ],
)
def test_dids_get_fixes_the_join_order_unless_an_id_window_cuts_the_list(
    client, portal_admin, system_api, params, fixed, streamed
):
    postgresql_only()
    make_dids(CHUNK_SIZE + 5)
    default = join_collapse_limit()
    with CaptureQueriesContext(connection) as executed:
        response = client.post(
            DIDS_GET_URL, {"u": portal_admin.username, "hash": SECRET_HASH, **params}
        )
        # A long list streams; a page of at most one chunk is one body, read at once.
        assert response.streaming == streamed
        chunks = iter(response.streaming_content if streamed else [response.content])
        next(chunks)
        # While a long list streams, its transaction (and the setting) lasts; a page's
        # transaction has ended.
        assert connection.in_atomic_block == streamed
        # An id window's subquery must stay free to be planned first (else a scan of all DIDs).
        assert join_collapse_limit() == ("1" if fixed and streamed else default)
        b"".join(chunks)
        response.close()
    statements = [query["sql"] for query in executed.captured_queries]
    # Set just before the listing, in the same transaction: Django's for a stream, for a
    # page its own, opened and fixed in one round trip and rolled back after the rows.
    fixing = FIX_JOINS if streamed else "BEGIN READ ONLY; " + FIX_JOINS
    assert (fixing in statements) == fixed
    if fixed:
        listing = statements[statements.index(fixing) + 1]
        # Streamed through a server-side cursor, or one plain query for a page.
        assert listing.startswith("DECLARE " if streamed else "SELECT ")
        assert 'SELECT "dids_did"."id" AS "id", "dids_did"."number"' in listing
        if not streamed:
            assert statements[statements.index(fixing) + 2] == "ROLLBACK"
    assert join_collapse_limit() == default
    assert not connection.in_atomic_block


def test_a_window_of_one_chunk_is_read_at_once_by_a_plain_query():
    postgresql_only()
    make_dids(CHUNK_SIZE + 1)
    rows = RowStream(did_rows(Did.objects.in_contract_order()[:CHUNK_SIZE]))
    # Read already: no cursor open, no transaction left, nothing to wait for.
    assert not connection.in_atomic_block
    assert open_cursors() == []
    assert sum(1 for _ in rows) == CHUNK_SIZE
    rows.close()
    assert not connection.in_atomic_block
    # One row more than a chunk streams.
    rows = RowStream(did_rows(Did.objects.in_contract_order()[: CHUNK_SIZE + 1]))
    next(rows)
    assert [holdable for _, holdable in open_cursors()] == [False]
    rows.close()
    assert open_cursors() == []


def test_only_a_queryset_filtered_by_a_subquery_keeps_the_planners_join_search(portal_admin):
    postgresql_only()
    make_dids(5)
    default = join_collapse_limit()
    plain = Did.objects.visible_to(portal_admin).in_contract_order()
    window = Did.objects.filter(pk__in=plain.values("pk")[1:3]).in_contract_order()
    cases = [(plain, "1"), (plain[:3], "1"), (did_rows(window), default), (window, default)]
    for queryset, expected in cases:
        with transaction.atomic():
            fixed_join_order(queryset)
            assert join_collapse_limit() == expected, queryset.query


def test_a_page_read_that_fails_leaves_no_transaction_open():
    postgresql_only()
    default = join_collapse_limit()
    seen = []

    def fail() -> None:
        with read_at_once(Did.objects.all()):
            seen.append(join_collapse_limit())
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")

    with pytest.raises(DatabaseError):
        fail()
    assert seen == ["1"]
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert join_collapse_limit() == default
    assert list(RowStream(did_rows(Did.objects.all()[:5]))) == []  # the connection goes on
