"""Number blocks: the viewer's DIDs grouped by a prefix, counted per status, sorted by
utilisation; each count links to exactly the DIDs it counts."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dids.models import Did
from dids.overview import TooManyBlocks, number_blocks
from portal.testing.factories import DidFactory

S = Did.Status


@pytest.fixture
def blocks(reseller, other_reseller):
    """Block 3706000 (4 DIDs: 3 in use of 3 usable), 3706001 (3: 1 of 2), 4420000 (2: 0 of 2),
    one of them all terminated (4420001), and a short number."""
    spec = [
        ("37060000001", S.ACTIVE, reseller),
        ("37060000002", S.RESERVED, reseller),
        ("37060000003", S.CLOSED, None),
        ("37060000004", S.TERMINATED, None),
        ("37060010001", S.FREE, reseller),
        ("37060010002", S.ACTIVE, other_reseller),
        ("37060010003", S.TERMINATED, other_reseller),
        ("44200000001", S.FREE, None),
        ("44200000002", S.FREE, None),
        ("44200010001", S.TERMINATED, None),
        ("370", S.FREE, None),
    ]
    return [DidFactory(number=n, status=s, reseller=r) for n, s, r in spec]


def test_blocks_are_grouped_counted_and_sorted_by_utilisation(blocks):
    page, total = number_blocks(Did.objects.all(), digits=7, offset=0, limit=50)

    assert total == 5
    assert [(b.prefix, b.total, b.in_use) for b in page] == [
        ("3706000", 4, 3),
        ("3706001", 3, 1),
        ("4420000", 2, 0),
        ("4420001", 1, 0),  # all terminated: no utilisation, after every block that has one
        (None, 1, 0),  # numbers shorter than the prefix, last
    ]
    assert [b.utilisation for b in page] == [100.0, 50.0, 0.0, None, None]
    assert page[1].counts == {
        "free": 1,
        "reserved": 0,
        "active": 1,
        "closed": 0,
        "terminated": 1,
    }


def test_a_reseller_groups_only_its_own_dids(blocks, reseller):
    page, total = number_blocks(Did.objects.visible_to(reseller), digits=7, offset=0, limit=50)

    assert total == 2
    assert [(b.prefix, b.total) for b in page] == [("3706000", 2), ("3706001", 1)]


def test_blocks_page_in_the_same_order(blocks):
    whole, _ = number_blocks(Did.objects.all(), digits=7, offset=0, limit=50)
    pages = [number_blocks(Did.objects.all(), digits=7, offset=o, limit=2)[0] for o in (0, 2, 4)]

    assert [b.prefix for page in pages for b in page] == [b.prefix for b in whole]


def test_a_block_ignores_case_as_the_number_filter_does(db):
    DidFactory(number="3706A1", status=S.ACTIVE)
    DidFactory(number="3706a2", status=S.FREE)

    page, total = number_blocks(Did.objects.all(), digits=5, offset=0, limit=50)

    assert total == 1
    assert (page[0].prefix, page[0].total) == ("3706A", 2)


def count_links(html: str) -> list[tuple[str, int]]:
    table = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    return [(unescape(url), int(n)) for url, n in re.findall(r'<a href="([^"]+)">(\d+)</a>', table)]


@pytest.mark.parametrize("persona", ["portal_admin", "accountant", "reseller", "other_reseller"])
def test_every_count_links_to_exactly_its_dids(request, client, blocks, persona):
    account = request.getfixturevalue(persona)
    account.hide_terminated_dids = True
    account.save()
    client.force_login(account)

    response = client.get("/dids/blocks/", {"digits": "7"})

    assert response.status_code == 200
    links = count_links(response.content.decode())
    assert links
    for url, count in links:
        assert url.startswith("/dids/?search_did_number=")
        assert client.get(url).context["table"].paginator.count == count, url


def test_the_page_shows_the_prefix_and_the_utilisation(client, blocks, portal_admin):
    client.force_login(portal_admin)

    html = client.get("/dids/blocks/", {"digits": "7"}).content.decode()

    assert "<code>3706000…</code>" in html
    assert "100.0&nbsp;%" in html
    assert "Shorter than 7 characters" in html
    assert '<span class="row-count">5 blocks</span>' in html


def test_the_default_prefix_is_eight_characters(client, blocks, portal_admin):
    client.force_login(portal_admin)

    response = client.get("/dids/blocks/")

    assert response.context["digits"] == 8
    assert [b.prefix for b in response.context["page_obj"]][:1] == ["37060000"]


@pytest.mark.parametrize("digits", ["0", "21", "abc", "-3", "9" * 40])
def test_a_bad_prefix_length_is_refused_clearly(client, blocks, portal_admin, digits):
    client.force_login(portal_admin)

    response = client.get("/dids/blocks/", {"digits": digits})

    assert response.status_code == 400
    assert 'id="blocks-errors"' in response.content.decode()
    assert "page_obj" not in response.context


def test_a_page_beyond_the_end_shows_the_last_page(client, blocks, portal_admin):
    portal_admin.items_per_page = 2
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.get("/dids/blocks/", {"digits": "7", "page": "99"})

    assert response.context["page_obj"].number == 3
    assert [b.prefix for b in response.context["page_obj"]] == [None]


def test_an_accountant_without_manage_dids_gets_the_403(client, blocks, accountant_without_right):
    client.force_login(accountant_without_right)

    response = client.get("/dids/blocks/")

    assert response.status_code == 403
    assert "3706000" not in response.content.decode()


def test_blocks_are_one_query(blocks):
    with CaptureQueriesContext(connection) as queries:
        number_blocks(Did.objects.all(), digits=7, offset=0, limit=50)

    # Besides the transaction's own statements (savepoint, PostgreSQL's timeout).
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the timeout is PostgreSQL's")
def test_a_count_that_takes_too_long_gives_up_and_leaves_the_database_usable(blocks, monkeypatch):
    monkeypatch.setattr("dids.overview.BLOCKS_TIMEOUT_MS", 50)
    slow = Did.objects.extra(where=["pg_sleep(0.02)::text = ''"])  # 20 ms a DID

    with pytest.raises(TooManyBlocks, match="first 7 characters makes too many blocks"):
        number_blocks(slow, digits=7, offset=0, limit=50)

    assert Did.objects.count() == len(blocks)
    assert number_blocks(Did.objects.all(), digits=7, offset=0, limit=50)[1] == 5


def test_the_page_says_to_choose_a_shorter_prefix(client, blocks, portal_admin, monkeypatch):
    def too_many(*args, digits, **kwargs):
        raise TooManyBlocks(digits)

    monkeypatch.setattr("dids.views.home.number_blocks", too_many)
    client.force_login(portal_admin)

    response = client.get("/dids/blocks/", {"digits": "11"})

    assert response.status_code == 400
    assert "first 11 characters makes too many blocks" in response.content.decode()
    assert "choose a shorter prefix" in response.content.decode()
