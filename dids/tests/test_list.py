"""The DIDs list page: access, filters and their errors, sorting, pagination, the
per-account preferences (page size, Hide terminated DIDs), the count, the links."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from dids.models import Did
from portal.testing.factories import DeviceFactory, DidFactory, ProviderFactory, UserFactory

PASSWORD = "correct-horse-battery"  # portal.testing.factories.UserFactory's password


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-id="(\d+)"', response.content.decode())]


def redirect_query(response) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response["Location"]).query)


@pytest.fixture
def three_dids(reseller, end_user):
    return [
        DidFactory(number="37060000003", status=Did.Status.TERMINATED),
        DidFactory(number="37060000001", reseller=reseller),
        DidFactory(number="37060000002", user=end_user, status=Did.Status.RESERVED),
    ]


# --- sign-in, sign-out, access ------------------------------------------------


def test_sign_in_leads_to_the_home_page(client, portal_admin):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/dids/").context["user"] == portal_admin


def test_sign_in_with_a_wrong_password_is_refused(client, portal_admin):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/dids/").status_code == 302


def test_sign_out_ends_the_session(client, portal_admin):
    client.force_login(portal_admin)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/dids/")["Location"] == "/login/?next=/dids/"


def test_the_list_form_is_csrf_protected(portal_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)

    response = client.post("/dids/", {"action": "page_size", "items_per_page": "10"})

    assert response.status_code == 403
    portal_admin.refresh_from_db()
    assert portal_admin.items_per_page == 50


@pytest.mark.parametrize("url", ["/dids/", "/dids/export.csv", "/dids/1/", "/"])
def test_it_requires_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_accountant_without_manage_dids_gets_a_clear_403(client, accountant_without_right):
    DidFactory()
    client.force_login(accountant_without_right)

    response = client.get("/dids/")

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs." in response.content.decode()
    assert 'id="result_list"' not in response.content.decode()


def test_accountant_without_a_group_gets_a_clear_403(client, db):
    loner = UserFactory(role=User.Role.ACCOUNTANT, accountant_group=None)
    client.force_login(loner)

    response = client.post("/dids/", {"action": "filter", "search_hide_terminated_dids": "1"})

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs." in response.content.decode()
    loner.refresh_from_db()
    assert loner.hide_terminated_dids is False


def test_accountant_with_manage_dids_sees_every_did(client, accountant, three_dids):
    client.force_login(accountant)

    response = client.get("/dids/?search_hide_terminated_dids=0")

    assert row_ids(response) == [d.id for d in sorted(three_dids, key=lambda d: d.number)]


def test_reseller_does_not_see_other_resellers_dids(client, reseller, other_reseller, three_dids):
    DidFactory(number="37069999999", reseller=other_reseller)
    client.force_login(reseller)

    assert row_ids(client.get("/dids/")) == [three_dids[1].id]


def test_end_user_gets_personal_dids(client, end_user, three_dids):
    client.force_login(end_user)

    response = client.get("/dids/")

    html = response.content.decode()
    assert "<h1>Personal DIDs</h1>" in html
    assert '<a href="/dids/" class="active" aria-current="page">Personal DIDs</a>' in html
    assert row_ids(response) == [three_dids[2].id]


def test_admin_gets_the_dids_list(client, portal_admin, three_dids):
    client.force_login(portal_admin)

    html = client.get("/dids/").content.decode()

    assert "<h1>DIDs</h1>" in html
    assert ">Personal DIDs<" not in html


# --- filters and their errors ------------------------------------------------


def test_malformed_filter_shows_the_apis_error_and_no_rows(client, portal_admin, three_dids):
    client.force_login(portal_admin)

    response = client.get("/dids/", {"search_user": "abc", "search_status": "gone"})

    html = response.content.decode()
    assert response.status_code == 200
    assert row_ids(response) == []
    # All errors, in the contract's order, in the API's words, and at their fields.
    assert re.findall(r"<li>(Invalid [^<]*)</li>", html) == [
        "Invalid search_status: expected one of free, reserved, active, closed, terminated",
        "Invalid search_user: expected a whole number",
    ]
    assert '<ul class="errorlist"><li>expected a whole number</li></ul>' in html
    assert "No DIDs found" in html
    assert "export.csv" not in html  # nothing to export until the filters are fixed


def test_malformed_parameter_that_the_role_ignores_is_still_an_error(client, reseller, three_dids):
    client.force_login(reseller)

    response = client.get("/dids/", {"search_provider": "-1"})

    assert row_ids(response) == []
    assert "Invalid search_provider: expected a whole number" in response.content.decode()


def test_panel_offers_only_the_filters_the_role_uses(client, reseller, end_user, portal_admin):
    client.force_login(reseller)
    html = client.get("/dids/").content.decode()
    assert 'name="search_provider"' not in html
    assert 'name="search_dialplan"' in html

    client.force_login(end_user)
    html = client.get("/dids/").content.decode()
    assert 'name="search_provider"' not in html
    assert 'name="search_dialplan"' not in html
    # All of a user's DIDs are its own: owner and user filters would pick all or none.
    assert 'name="search_did_owner"' not in html
    assert 'name="search_user"' not in html
    assert 'name="search_device"' in html

    client.force_login(portal_admin)
    html = client.get("/dids/").content.decode()
    assert 'name="search_provider"' in html
    assert 'name="search_dialplan"' in html


def test_panel_fields_say_what_they_match(client, portal_admin):
    """IDs, 0 and from/max_results mean what dids_get says; the panel says it too."""
    client.force_login(portal_admin)
    html = client.get("/dids/").content.decode()
    panel = html.split('id="did-filter-form"', 1)[1]
    fields = re.findall(r'<div class="filter-field">(.*?)</div>', panel, flags=re.S)
    helps = [
        re.search(r'<label for="id_([a-z_]+)">.*?(?:<p class="help">(.*?)</p>|$)', field, re.S)
        for field in fields
    ]
    helps = [match.groups(default="") for match in helps if match]
    assert dict(helps) == {
        "search_did_number": "Part of the number, or a pattern with % and _.",
        "search_status": "",
        "search_did_owner": "Part of the owner&#x27;s name.",
        "search_dialplan": "0 = DIDs without a dial plan.",
        "search_user": "An end user&#x27;s or a reseller&#x27;s ID; 0 = DIDs without an end user.",
        "search_device": "0 = DIDs without a device.",
        "search_provider": "0 = DIDs without a provider.",
        "search_language": "Exact, e.g. en.",
        "from": "Position of the first DID to list (1 = the first), in DID number order.",
        "max_results": "List at most this many DIDs.",
    }


def test_submitting_the_panel_goes_to_the_dids_get_query_string(client, portal_admin):
    client.force_login(portal_admin)

    response = client.post(
        "/dids/",
        {
            "action": "filter",
            "search_did_number": "3706%",
            "search_status": "active",
            "search_user": "",
            "search_device": "all",
            "from": "2",
            "sort": "-owner",
        },
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/dids/?")
    assert redirect_query(response) == {
        "search_did_number": ["3706%"],
        "search_status": ["active"],
        "search_device": ["all"],
        "from": ["2"],
        "search_hide_terminated_dids": ["0"],
        "sort": ["-owner"],
    }


# --- Hide terminated DIDs ----------------------------------------------------


def test_ticking_hide_terminated_saves_the_preference(client, portal_admin, three_dids):
    client.force_login(portal_admin)

    response = client.post(
        "/dids/", {"action": "filter", "search_hide_terminated_dids": "1"}, follow=True
    )

    portal_admin.refresh_from_db()
    assert portal_admin.hide_terminated_dids is True
    assert row_ids(response) == [three_dids[1].id, three_dids[2].id]
    assert 'id="id_search_hide_terminated_dids" checked' in response.content.decode()


def test_unticking_hide_terminated_saves_the_preference(client, portal_admin, three_dids):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.post("/dids/", {"action": "filter"}, follow=True)

    portal_admin.refresh_from_db()
    assert portal_admin.hide_terminated_dids is False
    assert len(row_ids(response)) == 3
    assert 'id="id_search_hide_terminated_dids" checked' not in response.content.decode()


def test_the_preference_applies_when_the_url_does_not_say(client, portal_admin, three_dids):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.get("/dids/")

    assert row_ids(response) == [three_dids[1].id, three_dids[2].id]
    assert 'id="id_search_hide_terminated_dids" checked' in response.content.decode()
    # An empty value counts as absent, as in the API.
    assert row_ids(client.get("/dids/?search_hide_terminated_dids=")) == row_ids(response)


def test_a_url_with_the_parameter_wins_and_does_not_change_the_preference(
    client, portal_admin, three_dids
):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.get("/dids/?search_hide_terminated_dids=0")

    assert len(row_ids(response)) == 3
    portal_admin.refresh_from_db()
    assert portal_admin.hide_terminated_dids is True


def test_the_preference_survives_signing_out_and_in(client, portal_admin, three_dids):
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    client.post("/dids/", {"action": "filter", "search_hide_terminated_dids": "1"})
    client.post("/logout/")

    client.post("/login/", {"username": "alice", "password": PASSWORD})
    response = client.get("/dids/")

    assert row_ids(response) == [three_dids[1].id, three_dids[2].id]


# --- sorting -----------------------------------------------------------------


@pytest.fixture
def sortable(portal_admin, reseller, other_reseller, end_user, reseller_user):
    zed = UserFactory(username="zed", first_name="Zed", last_name="Zulu", role=User.Role.USER)
    return {
        "a": DidFactory(
            number="200",
            user=zed,
            call_limit=0,
            comment="beta",
            device=DeviceFactory(type="SIP", name="b", user=zed),
        ),
        "b": DidFactory(
            number="100",
            user=end_user,
            call_limit=5,
            comment="alpha",
            device=DeviceFactory(type="FAX", name="zzz", extension="111", user=end_user),
        ),
        "c": DidFactory(number="300", reseller=reseller, call_limit=1),  # no owner
        "d": DidFactory(number="150", reseller=reseller, user=reseller_user, call_limit=5),
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("did", "bdac"),
        ("-did", "cadb"),
        ("id", "abcd"),
        ("-id", "dcba"),
        # Owner names: Erin Customer, Frank Enduser, Zed Zulu; no owner first ascending.
        ("owner", "cdba"),
        ("-owner", "abdc"),
        # Unlimited (0) sorts after every real limit; equal limits by id.
        ("simultaneous_call_limit", "cbda"),
        ("-simultaneous_call_limit", "adbc"),
        # Devices as shown: FAX/111 before SIP/b; none first ascending (ties by id).
        ("device", "cdba"),
        ("comment", "cdba"),
        ("reseller", "abcd"),
    ],
)
def test_sorting_by_a_column(client, portal_admin, sortable, sort, expected):
    client.force_login(portal_admin)

    response = client.get("/dids/", {"sort": sort})

    assert row_ids(response) == [sortable[key].id for key in expected]


def test_every_column_sorts_both_ways(client, portal_admin, sortable):
    client.force_login(portal_admin)
    columns = re.findall(r"sort=([a-z_]+)", client.get("/dids/").content.decode())
    assert set(columns) == {
        "id", "did", "provider", "language", "status", "reseller", "owner", "device",
        "dial_plan", "simultaneous_call_limit", "comment", "tone_zone",
    }  # fmt: skip
    for column in columns:
        for sort in (column, f"-{column}"):
            response = client.get("/dids/", {"sort": sort})
            assert sorted(row_ids(response)) == sorted(d.id for d in sortable.values()), sort


def test_reseller_sorts_by_its_own_comment(client, reseller, sortable):
    sortable["c"].reseller_comment = "a first"
    sortable["c"].comment = "z operator"
    sortable["c"].save()
    sortable["d"].reseller_comment = "b second"
    sortable["d"].save()
    client.force_login(reseller)

    assert row_ids(client.get("/dids/", {"sort": "-comment"})) == [
        sortable["d"].id,
        sortable["c"].id,
    ]


def test_the_window_is_taken_in_contract_order_then_sorted(client, portal_admin, sortable):
    client.force_login(portal_admin)

    # Contract order: 100 (b), 150 (d), 200 (a), 300 (c); the window is d, a.
    response = client.get("/dids/", {"from": "2", "max_results": "2", "sort": "-did"})

    assert row_ids(response) == [sortable["a"].id, sortable["d"].id]


# --- pagination, count, links ------------------------------------------------


def test_page_size_is_the_accounts_items_per_page(client, portal_admin):
    for n in range(7):
        DidFactory(number=f"1{n}")
    portal_admin.items_per_page = 3
    portal_admin.save()
    client.force_login(portal_admin)

    first = client.get("/dids/")
    last = client.get("/dids/", {"page": 3})

    assert len(row_ids(first)) == 3
    assert len(row_ids(last)) == 1
    assert '<span class="did-count">7 DIDs</span>' in first.content.decode()


def test_changing_the_page_size_persists_and_keeps_the_filters(client, portal_admin):
    client.force_login(portal_admin)

    response = client.post(
        "/dids/",
        {
            "action": "page_size",
            "items_per_page": "25",
            "query": "search_status=free&page=4&sort=did",
        },
    )

    portal_admin.refresh_from_db()
    assert portal_admin.items_per_page == 25
    assert redirect_query(response) == {"search_status": ["free"], "sort": ["did"]}
    assert urlsplit(response["Location"]).path == "/dids/"


@pytest.mark.parametrize("size", ["0", "1001", "ten", ""])
def test_a_bad_page_size_changes_nothing(client, portal_admin, size):
    client.force_login(portal_admin)

    response = client.post("/dids/", {"action": "page_size", "items_per_page": size}, follow=True)

    portal_admin.refresh_from_db()
    assert portal_admin.items_per_page == 50
    assert "Items per page must be a whole number from 1 to 1000." in response.content.decode()


def test_per_page_in_the_url_is_capped(client, portal_admin):
    DidFactory.create_batch(3)
    client.force_login(portal_admin)

    response = client.get("/dids/", {"per_page": "0"})

    assert len(row_ids(response)) == 1


def test_count_is_of_every_matching_did(client, portal_admin, three_dids):
    client.force_login(portal_admin)

    html = client.get("/dids/", {"search_status": "free"}).content.decode()

    assert '<span class="did-count">1 DID</span>' in html


def test_each_row_links_to_the_dids_page(client, portal_admin, three_dids):
    client.force_login(portal_admin)

    html = client.get("/dids/").content.decode()

    for did in three_dids:
        assert f'<a href="/dids/{did.id}/">{did.number}</a>' in html


def test_export_link_carries_the_effective_filters(client, portal_admin, three_dids):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.get("/dids/", {"search_status": "free", "page": "2", "sort": "owner"})

    link = re.search(r'href="(/dids/export\.csv\?[^"]*)"', response.content.decode()).group(1)
    assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {
        "search_status": ["free"],
        "sort": ["owner"],
        "search_hide_terminated_dids": ["1"],
    }


# --- queries -----------------------------------------------------------------


@pytest.mark.parametrize("page_size", [10, 100])
def test_the_number_of_queries_does_not_depend_on_the_page_size(
    client, portal_admin, reseller, end_user, django_assert_num_queries, page_size
):
    device = DeviceFactory(user=end_user)
    for n in range(120):
        DidFactory(
            number=f"3706{n:05d}",
            reseller=reseller if n % 2 else None,
            user=end_user if n % 3 else None,
            device=device if n % 3 else None,
        )
    portal_admin.items_per_page = page_size
    portal_admin.save()
    client.force_login(portal_admin)

    # session, user, expired-closed check, count, the page's rows; on PostgreSQL also
    # the setting that keeps the page query's join order (dids.streaming.fixed_join_order).
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 5):
        response = client.get("/dids/", {"sort": "owner"})

    assert len(row_ids(response)) == page_size


@pytest.mark.parametrize(
    "sort", ["provider", "-provider", "-reseller", "password", "user__password"]
)
def test_sorting_by_a_column_the_role_does_not_have_is_ignored(client, reseller, sort):
    """Otherwise the order would leak what the column hides (e.g. the provider)."""
    by_number = [
        DidFactory(number="1", reseller=reseller, provider=ProviderFactory(name="Zulu")),
        DidFactory(number="2", reseller=reseller, provider=ProviderFactory(name="Alpha")),
    ]
    client.force_login(reseller)

    assert row_ids(client.get("/dids/", {"sort": sort})) == [d.id for d in by_number]
    export = b"".join(client.get("/dids/export.csv", {"sort": sort}).streaming_content)
    assert [line.split(b",")[0] for line in export.splitlines()[1:]] == [b"1", b"2"]


def test_the_sign_in_page_says_why_when_a_page_needed_it(client, db):
    response = client.get("/dids/", follow=True)

    assert response.redirect_chain == [("/login/?next=/dids/", 302)]
    html = response.content.decode()
    assert "Please sign in to see that page." in html
    assert 'name="next" value="/dids/"' in html
    assert "csrfmiddlewaretoken" in html


def test_signing_in_returns_to_the_page_asked_for(client, portal_admin, three_dids):
    url = f"/dids/{three_dids[0].id}/"

    response = client.post(
        f"/login/?next={url}", {"username": "alice", "password": PASSWORD, "next": url}
    )

    assert response["Location"] == url


SORTABLE_COLUMNS = (
    "id", "did", "provider", "language", "status", "reseller", "owner", "device",
    "dial_plan", "simultaneous_call_limit", "comment", "tone_zone",
)  # fmt: skip


def test_pages_of_a_sorted_list_never_overlap_nor_skip(client, portal_admin, reseller, end_user):
    """Many ties in every column: the id as the last sort key keeps pages stable."""
    for n in range(11):
        DidFactory(
            number=f"50{n % 3}{n:02d}",
            language=["en", "", "lt"][n % 3],
            reseller=reseller if n % 2 else None,
            user=end_user if n % 4 == 0 else None,
            call_limit=n % 2,
            comment=["", "same"][n % 2],
            status=[Did.Status.FREE, Did.Status.RESERVED][n % 2],
        )
    portal_admin.items_per_page = 3
    portal_admin.save()
    client.force_login(portal_admin)

    for column in SORTABLE_COLUMNS:
        for sort in (column, f"-{column}"):
            whole = row_ids(client.get("/dids/", {"sort": sort, "per_page": 100}))
            paged = [
                pk
                for page in range(1, 5)
                for pk in row_ids(client.get("/dids/", {"sort": sort, "page": page}))
            ]
            assert paged == whole, sort
            assert len(set(paged)) == 11, sort


def test_paging_within_a_window(client, portal_admin):
    dids = [DidFactory(number=f"60{n:02d}") for n in range(10)]
    portal_admin.items_per_page = 2
    portal_admin.save()
    client.force_login(portal_admin)

    window = {"from": "3", "max_results": "5"}
    pages = [row_ids(client.get("/dids/", {**window, "page": p})) for p in (1, 2, 3)]

    assert pages == [[dids[2].id, dids[3].id], [dids[4].id, dids[5].id], [dids[6].id]]
