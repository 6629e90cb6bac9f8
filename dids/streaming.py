"""Rows of a large queryset, flowing from the database as the response is written.

Django reads `.iterator()` on PostgreSQL through a server-side cursor; outside a
transaction it declares it WITH HOLD, and PostgreSQL then runs the whole query to
the end before the first row comes back (at 1,000,000 DIDs: seconds before the first
byte, and the whole result held by the server). Inside a transaction the cursor is
WITHOUT HOLD and rows come as they are found. `RowStream` opens that transaction
(read only: it always ends in a rollback) and ends it when the stream is closed: the
WSGI server closes the response when it is sent, or when the client goes away.

Inside that transaction the planner also keeps the query's join order
(`fixed_join_order`): a listing joins the DID to its provider, accounts, device and
dial plan with LEFT JOINs whose order is already the best one, and PostgreSQL's
search for another costs 15-35 ms of planning per query at 1,000,000 DIDs against
1-2 ms without it (EXPLAIN (SUMMARY), warm connection) — more than the query's run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet
from django.db.models.sql import Query
from django.db.models.sql.where import WhereNode

# Rows per fetch from the server-side cursor (measured with bench/api.py: larger
# chunks gain nothing past about 2,000 rows and hold more memory).
CHUNK_SIZE = 2000


def _filtered_by_subquery(node: WhereNode) -> bool:
    """Whether a WHERE clause tests a column against a subquery (`pk__in=<queryset>`,
    e.g. DidFilterSet.windowed's id window)."""
    for child in node.children:
        if isinstance(child, WhereNode):
            if _filtered_by_subquery(child):
                return True
        elif isinstance(getattr(child, "rhs", None), Query):
            return True
    return False


def fixed_join_order(queryset: QuerySet) -> None:
    """For the rest of the current transaction (PostgreSQL), plan joins in the order the
    queryset writes them: its LEFT JOINs hang off the DID table. Not when a subquery
    filters it (an id window): the planner must be free to start from that subquery's
    few ids (in written order it would scan every DID: 1.4 s instead of 9 ms for 500)."""
    connection = connections[queryset.db]
    if (
        connection.vendor == "postgresql"
        and connection.in_atomic_block
        and not _filtered_by_subquery(queryset.query.where)
    ):
        with connection.cursor() as cursor:
            cursor.execute(FIX_JOINS)


def _at_most(queryset: QuerySet, rows: int) -> bool:
    """Whether the queryset is sliced to at most `rows` rows (a dids_get page)."""
    query = queryset.query
    return query.high_mark is not None and query.high_mark - query.low_mark <= rows


@contextmanager
def read_transaction(queryset: QuerySet) -> Iterator[None]:
    """Where the queryset is read: on PostgreSQL outside any transaction, one of its own
    with the join order fixed (fixed_join_order), always rolled back. Nothing is written,
    and a rollback ends it also when the query failed half-way (a commit would raise on
    the aborted transaction). Elsewhere, or inside a caller's transaction, nothing."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=queryset.db):
        try:
            fixed_join_order(queryset)
            yield
        finally:
            transaction.set_rollback(True, using=queryset.db)


FIX_JOINS = "SET LOCAL join_collapse_limit = 1"


@contextmanager
def read_at_once(queryset: QuerySet) -> Iterator[None]:
    """Where a queryset is read by one plain query (a page): on PostgreSQL outside any
    transaction, with the join order fixed, in a read-only transaction of its own that
    one round trip opens and fixes (`BEGIN READ ONLY; SET LOCAL …`) and a ROLLBACK ends.
    A query filtered by a subquery keeps the planner's join search (fixed_join_order):
    one statement, no transaction needed. Elsewhere, or inside a caller's transaction,
    as read_transaction."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with read_transaction(queryset):
            yield
        return
    if _filtered_by_subquery(queryset.query.where):
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"BEGIN READ ONLY; {FIX_JOINS}")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        except DatabaseError:
            # A connection that cannot end its transaction is not used again.
            connection.close()
            raise


class RowStream:
    """An iterator over a queryset's rows, with close() ending its cursor and transaction.

    A queryset sliced to at most one chunk (a dids_get page) is read by one plain query
    instead: nothing to stream, and a server-side cursor's DECLARE, FETCH and CLOSE
    cost 0.3 ms of CPU and a millisecond of wall time on a 50-row page (PostgreSQL).
    """

    def __init__(
        self, queryset: QuerySet, *, chunk_size: int = CHUNK_SIZE, at_most: int | None = None
    ) -> None:
        """`at_most`: a bound on the rows that the caller knows and the query does not
        show (a statement's window of ids, dids.presentation.window_rows)."""
        self._transaction: AbstractContextManager[None] | None = None
        if _at_most(queryset, chunk_size) or (at_most is not None and at_most <= chunk_size):
            with read_at_once(queryset):
                self._rows: Iterator[Any] = iter(list(queryset))
            return
        self._transaction = read_transaction(queryset)
        self._transaction.__enter__()
        self._rows = queryset.iterator(chunk_size=chunk_size)

    def __iter__(self) -> Iterator[Any]:
        # The rows themselves: a loop over the stream makes no Python call per row.
        return self._rows

    def __next__(self) -> Any:
        return next(self._rows)

    def close(self) -> None:
        try:
            close = getattr(self._rows, "close", None)
            if close is not None:
                close()
        finally:
            ending, self._transaction = self._transaction, None
            if ending is not None:
                ending.__exit__(None, None, None)
