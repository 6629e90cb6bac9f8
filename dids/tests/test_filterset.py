"""DidFilterSet's copies: every instance filters with its own account, although its
filters are shallow copies of the class's and its form class is built once; and the
number search's SQL, which the trigram index serves."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.http import QueryDict

from dids.filters import DidFilterSet
from dids.models import Did
from portal.testing.factories import DidFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_each_filterset_filters_with_its_own_account(portal_admin, reseller):
    kept, other = ProviderFactory(), ProviderFactory()
    DidFactory(number="1001", provider=kept, reseller=reseller)
    DidFactory(number="1002", provider=other, reseller=reseller)
    params = QueryDict(f"search_provider={kept.pk}")
    # Made one after the other, evaluated the other way round: search_provider counts
    # for the admin only (a reseller's is silently ignored).
    for_admin = DidFilterSet(params, queryset=Did.objects.all(), account=portal_admin)
    for_reseller = DidFilterSet(params, queryset=Did.objects.all(), account=reseller)
    assert [d.number for d in for_reseller.qs] == ["1001", "1002"]
    assert [d.number for d in for_admin.qs] == ["1001"]
    for filterset in (for_admin, for_reseller):
        for name, filter_ in filterset.filters.items():
            assert filter_.parent is filterset, name
            assert filter_.filter.f is filter_, name
            assert filter_ is not DidFilterSet.base_filters[name]


def test_forms_share_the_class_but_not_the_fields(portal_admin):
    first = DidFilterSet(QueryDict("search_status=bogus"), account=portal_admin)
    second = DidFilterSet(QueryDict("search_status=free"), account=portal_admin)
    assert type(first.form) is type(second.form)
    assert first.form.fields["search_status"] is not second.form.fields["search_status"]
    assert first.error_messages() == [
        "Invalid search_status: expected one of free, reserved, active, closed, terminated"
    ]
    assert second.error_messages() == []


def test_forms_share_the_widgets_and_each_renders_its_own_values(portal_admin):
    first = DidFilterSet(QueryDict("search_status=closed&search_language=en"), account=portal_admin)
    second = DidFilterSet(QueryDict("search_status=free"), account=portal_admin)
    for name in DidFilterSet.base_filters:
        assert first.form.fields[name] is not second.form.fields[name], name
        assert first.form.fields[name].widget is second.form.fields[name].widget, name
    assert first.error_messages() == second.error_messages() == []
    assert 'value="closed" selected' in str(first.form["search_status"])
    assert 'value="free" selected' in str(second.form["search_status"])
    assert 'value="en"' in str(first.form["search_language"])
    assert "value=" not in str(second.form["search_language"])
    # Rendering changed nothing that the next form would see.
    third = DidFilterSet(QueryDict(""), account=portal_admin)
    assert "selected" not in str(third.form["search_status"]).replace('value="" selected', "")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
@pytest.mark.parametrize("searched", ["3706123", "7061", "3706%34"])
def test_a_number_search_reads_the_trigram_index(portal_admin, searched):
    """The SQL of `search_did_number` is the index's expression (UPPER(number::text)
    LIKE …): PostgreSQL can find the few matching DIDs by the trigram index."""
    Did.objects.bulk_create(Did(number=f"55{i:07d}") for i in range(3000))
    DidFactory(number="37061234")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dids_did")
    filterset = DidFilterSet(
        QueryDict(f"search_did_number={searched}".replace("%", "%25")),
        queryset=Did.objects.visible_to(portal_admin),
        account=portal_admin,
    )
    sql, params = filterset.qs.values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # The table is small; read in no other way than by a bitmap, it is the trigram's
        # (a bitmap of a whole other index would cost far more).
        for method in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on did_number_trigram" in plan, plan
    assert [d.number for d in filterset.qs] == ["37061234"]


def test_the_contract_order_sorts_by_number_alone_in_sql(portal_admin):
    """Numbers are unique, so "by number, then id" is the order by number: the id is not
    in the SQL, where PostgreSQL would sort every row a deep window passes again."""
    DidFactory(number="20")
    DidFactory(number="1000")
    DidFactory(number="3")
    ordered = Did.objects.visible_to(portal_admin).in_contract_order()
    sql = str(ordered.values("pk").query)
    order = sql[sql.index("ORDER BY") :]
    assert '"number"' in order, order
    assert '"id"' not in order, order
    assert [d.number for d in ordered] == ["1000", "20", "3"]  # by code point, as text
    number = Did._meta.get_field("number")
    assert number.unique  # what makes the id superfluous


@pytest.mark.skipif(connection.vendor != "postgresql", reason="INCLUDE columns are PostgreSQL's")
def test_the_window_orders_have_covering_indexes():
    """A window of ids in contract order (`SELECT id … ORDER BY number OFFSET n`, alone,
    by status, a reseller's) can be read from an index alone: its key is the order, the id
    is carried in it (1M DIDs, `from=500000`: 313 -> 43 ms in-process)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dids_did'"
            " AND indexname IN ('did_number_id', 'did_status_number', 'did_reseller_number_status')"
        )
        definitions = {name: definition.split(" USING ")[1] for name, definition in cursor}
    assert definitions == {
        "did_number_id": "btree (number) INCLUDE (id)",
        "did_status_number": "btree (status, number) INCLUDE (id)",
        "did_reseller_number_status": "btree (reseller_id, number, status) INCLUDE (id)",
    }
