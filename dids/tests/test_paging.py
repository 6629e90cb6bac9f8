"""Pages of the DIDs list at any size (dids.paging): an estimated count above
DIDS_EXACT_COUNT_BELOW on PostgreSQL, exact below it and on SQLite; deep pages cut by
ids that hold exactly the rows an OFFSET would."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dids.models import Did
from dids.paging import DEEP_PAGE_ROWS, DidPaginator, about, planner_estimate

pytestmark = pytest.mark.django_db


def row_numbers(response) -> list[str]:
    return re.findall(r'<a href="/dids/\d+/[^"]*">(\d+)</a>', response.content.decode())


def count_text(response) -> str:
    match = re.search(r'<span class="did-count"[^>]*>([^<]*)</span>', response.content.decode())
    return match.group(1)


def make_dids(count: int) -> list[Did]:
    dids = Did.objects.bulk_create(Did(number=f"3706{i:07d}") for i in range(count))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE dids_did")  # what autovacuum does for a real table
    return dids


@pytest.mark.parametrize(
    ("number", "shown"), [(7, 7), (99, 99), (123, 120), (987_654, 990_000), (1_049_999, 1_000_000)]
)
def test_an_estimate_keeps_two_significant_digits(number, shown):
    assert about(number) == shown


def test_below_the_threshold_the_count_is_exact(client, portal_admin, settings):
    settings.DIDS_EXACT_COUNT_BELOW = 1000
    make_dids(30)
    client.force_login(portal_admin)
    response = client.get("/dids/", {"per_page": 10})
    assert count_text(response) == "30 DIDs"
    assert response.context["table"].paginator.approximate is False


def test_above_the_threshold_postgresql_estimates_and_says_so(client, portal_admin, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the planner's estimate is PostgreSQL's")
    settings.DIDS_EXACT_COUNT_BELOW = 20
    make_dids(250)
    client.force_login(portal_admin)

    response = client.get("/dids/", {"per_page": 100, "search_hide_terminated_dids": "0"})

    paginator = response.context["table"].paginator
    assert paginator.approximate is True
    assert count_text(response) == f"about {paginator.count:,} DIDs"
    assert 200 <= paginator.count <= 300  # ANALYZE has seen every row
    assert "An estimate" in response.content.decode()
    # The last page still has every row and no Next link past the real end.
    last = client.get("/dids/", {"per_page": 100, "page": 3, "search_hide_terminated_dids": "0"})
    assert len(row_numbers(last)) == 50
    assert 'rel="next"' not in last.content.decode()
    # Just past the estimate: an empty page, not an error; far past it: the last page.
    beyond = client.get("/dids/", {"per_page": 100, "page": 5, "search_hide_terminated_dids": "0"})
    assert beyond.status_code == 200
    assert row_numbers(beyond) == []
    far = client.get("/dids/", {"per_page": 100, "page": 99, "search_hide_terminated_dids": "0"})
    assert row_numbers(far) == row_numbers(last)


@pytest.mark.parametrize(
    ("query", "counted"),
    [
        ({}, 30),
        ({"search_did_number": "000001"}, 11),  # 37060000001 and 37060000010 to 19
        ({"search_did_owner": "Olga"}, 3),  # a filter on the owner's name (an annotation)
        ({"search_status": "closed"}, 0),
    ],
)
def test_the_capped_count_counts_ids_alone(
    client, portal_admin, reseller_user, settings, query, counted
):
    """The count that stops at the threshold selects the ids alone: the page's columns
    (the joined names, the owner's CASE) would keep their joins in the counted subquery,
    and PostgreSQL reads them for every counted row (1M DIDs: 16-20 ms against 9 ms)."""
    settings.DIDS_EXACT_COUNT_BELOW = 1000
    dids = make_dids(30)
    reseller_user.first_name = "Olga"
    reseller_user.save()
    Did.objects.filter(pk__in=[d.pk for d in dids[:3]]).update(
        reseller=reseller_user.owner, user=reseller_user, status="active"
    )
    client.force_login(portal_admin)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dids/", {"per_page": 10, **query})

    assert response.status_code == 200
    assert count_text(response) == f"{counted} DIDs"
    counts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1
    inner = re.match(r"SELECT COUNT\(\*\) FROM \(SELECT (.*?) FROM ", counts[0])
    assert inner is not None, counts[0]
    assert inner.group(1) == '"dids_did"."id" AS "pk"'


def test_sqlite_always_counts_exactly(client, portal_admin, settings):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's behaviour")
    settings.DIDS_EXACT_COUNT_BELOW = 1
    make_dids(12)
    assert planner_estimate(Did.objects.all()) is None
    client.force_login(portal_admin)
    assert count_text(client.get("/dids/", {"per_page": 5})) == "12 DIDs"


def test_a_deep_page_holds_exactly_the_rows_of_an_offset(settings):
    settings.DIDS_EXACT_COUNT_BELOW = 10**9
    make_dids(DEEP_PAGE_ROWS + 130)
    ordered = Did.objects.in_contract_order()
    paginator = DidPaginator(ordered, 50)
    number = DEEP_PAGE_ROWS // 50 + 2  # past DEEP_PAGE_ROWS: cut by ids
    page = paginator.page(number)
    offset = (number - 1) * 50
    assert [d.number for d in page.object_list] == [d.number for d in ordered[offset : offset + 50]]
    # The last page (with the remainder) too, and the one before the threshold.
    last = paginator.page(paginator.num_pages)
    assert [d.pk for d in last.object_list] == [
        d.pk for d in ordered[(paginator.num_pages - 1) * 50 :]
    ]
    assert not last.has_next()
    shallow = paginator.page(2)
    assert [d.pk for d in shallow.object_list] == [d.pk for d in ordered[50:100]]


def test_a_deep_page_of_the_list_in_a_descending_sort(client, portal_admin, settings):
    settings.DIDS_EXACT_COUNT_BELOW = 10**9
    make_dids(DEEP_PAGE_ROWS + 40)
    client.force_login(portal_admin)
    page = DEEP_PAGE_ROWS // 100 + 1  # rows 2001-2040 of 2040, from the top of a descending sort
    response = client.get("/dids/", {"per_page": 100, "page": page, "sort": "-did"})
    assert row_numbers(response) == [f"3706{i:07d}" for i in range(39, -1, -1)]


def test_a_page_number_that_is_no_number_shows_the_first_page(client, portal_admin, settings):
    settings.DIDS_EXACT_COUNT_BELOW = 1  # estimated on PostgreSQL, exact on SQLite
    make_dids(3)
    client.force_login(portal_admin)
    for page in ("x", "0", "-1", "1e9", "\u0661", "99999999999999999999999"):
        response = client.get("/dids/", {"page": page})
        assert response.status_code == 200
        assert row_numbers(response) == ["37060000000", "37060000001", "37060000002"], page
