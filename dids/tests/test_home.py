"""The home page: each role's overview counts only what the role sees, and every number
links to the DIDs list showing exactly the DIDs it counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.utils import timezone

from accounts.models import User
from dids.models import Did
from dids.overview import month_starts
from portal.testing.factories import (
    DeviceFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


def links_with_counts(html: str) -> list[tuple[str, int]]:
    """Every number on the page that links to the DIDs list: (URL, the number shown)."""
    return [
        (unescape(url), int(count))
        for url, count in re.findall(r'<a href="(/dids/\?[^"]*)"[^>]*>(\d+)</a>', html)
    ]


def list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["table"].paginator.count


@pytest.fixture
def inventory(reseller, other_reseller, reseller_user, end_user):
    """DIDs of every status, held by two resellers and the system, on two providers."""
    alpha, beta = ProviderFactory(name="Alpha"), ProviderFactory(name="Beta")
    other_user = UserFactory(username="olga", role=User.Role.USER, owner=other_reseller)
    device = DeviceFactory(user=reseller_user)
    now = timezone.now()
    dids = [
        DidFactory(status=Did.Status.FREE, provider=alpha),
        DidFactory(status=Did.Status.FREE, provider=None),
        DidFactory(status=Did.Status.TERMINATED, provider=beta),
        DidFactory(status=Did.Status.RESERVED, user=end_user, provider=alpha),
        DidFactory(
            status=Did.Status.CLOSED,
            user=end_user,
            provider=beta,
            reserved_for_user_till=now + timedelta(days=3),
        ),
        DidFactory(status=Did.Status.FREE, reseller=reseller, provider=alpha),
        DidFactory(
            status=Did.Status.ACTIVE,
            reseller=reseller,
            user=reseller_user,
            device=device,
            provider=beta,
        ),
        DidFactory(
            status=Did.Status.CLOSED,
            reseller=reseller,
            user=reseller_user,
            provider=alpha,
            reserved_for_user_till=now + timedelta(days=30),
        ),
        DidFactory(status=Did.Status.TERMINATED, reseller=reseller, provider=alpha),
        DidFactory(status=Did.Status.FREE, reseller=other_reseller, provider=beta),
        DidFactory(
            status=Did.Status.RESERVED, reseller=other_reseller, user=other_user, provider=beta
        ),
        DidFactory(
            status=Did.Status.CLOSED,
            reseller=other_reseller,
            user=other_user,
            provider=beta,
            reserved_for_user_till=now + timedelta(days=2),
        ),
    ]
    return dids


@pytest.mark.parametrize(
    "persona", ["portal_admin", "accountant", "reseller", "reseller_user", "end_user"]
)
def test_every_number_on_the_home_page_is_the_count_of_its_list(
    request, client, inventory, persona
):
    """The card's count equals the list's count, for every link on the page."""
    account: User = request.getfixturevalue(persona)
    # A remembered Hide terminated DIDs must not make the list disagree with the card.
    account.hide_terminated_dids = True
    account.save()
    client.force_login(account)

    response = client.get("/")

    assert response.status_code == 200
    figures = links_with_counts(response.content.decode())
    assert len(figures) >= 6
    for url, count in figures:
        assert list_count(client, url) == count, url


@pytest.mark.parametrize(
    ("persona", "total", "statuses"),
    [
        ("portal_admin", 12, {"free": 4, "reserved": 2, "active": 1, "closed": 3, "terminated": 2}),
        ("accountant", 12, {"free": 4, "reserved": 2, "active": 1, "closed": 3, "terminated": 2}),
        ("reseller", 4, {"free": 1, "reserved": 0, "active": 1, "closed": 1, "terminated": 1}),
        (
            "other_reseller",
            3,
            {"free": 1, "reserved": 1, "active": 0, "closed": 1, "terminated": 0},
        ),
        ("reseller_user", 2, {"free": 0, "reserved": 0, "active": 1, "closed": 1, "terminated": 0}),
        ("end_user", 2, {"free": 0, "reserved": 1, "active": 0, "closed": 1, "terminated": 0}),
    ],
)
def test_each_role_counts_only_the_dids_it_sees(
    request, client, inventory, persona, total, statuses
):
    client.force_login(request.getfixturevalue(persona))

    overview = client.get("/").context["overview"]

    assert overview.total.count == total
    assert {figure.key: figure.count for figure in overview.statuses} == statuses


def test_a_reseller_never_counts_another_resellers_dids(client, inventory, reseller):
    client.force_login(reseller)

    overview = client.get("/").context["overview"]

    ours = set(Did.objects.filter(reseller=reseller).values_list("pk", flat=True))
    assert overview.total.count == len(ours)
    assert sum(figure.count for figure in overview.by_user) == len(ours)
    assert {figure.label for figure in overview.by_user} == {"Erin Customer (erin)", "No end user"}
    assert overview.by_reseller == overview.by_provider == []
    assert {did.pk for did in overview.recent} <= ours
    assert {did.pk for did in overview.releasing} <= ours
    assert overview.releasing_count == 0  # the other reseller's DID is released in 2 days


def test_the_operators_see_resellers_and_providers(client, inventory, accountant):
    client.force_login(accountant)

    overview = client.get("/").context["overview"]

    assert [(f.label, f.count) for f in overview.by_reseller] == [
        ("Charlie Resale (charlie)", 4),
        ("Dave Wholesale (dave)", 3),
    ]
    assert [(f.label, f.count) for f in overview.by_provider] == [
        ("Beta", 6),
        ("Alpha", 5),
        ("No provider", 1),
    ]
    assert overview.by_user == []


def test_a_reseller_that_is_a_dids_end_user_is_counted_as_its_link_lists(
    client, portal_admin, reseller
):
    """search_user=R lists the DIDs whose reseller *or end user* is R: so does the card."""
    DidFactory(reseller=reseller)
    DidFactory(user=reseller)  # odd, but a scenario may load it
    client.force_login(portal_admin)

    overview = client.get("/").context["overview"]

    (figure,) = overview.by_reseller
    assert figure.count == 2
    assert list_count(client, figure.url) == 2


def test_the_closed_dids_released_within_seven_days_soonest_first(client, inventory, portal_admin):
    client.force_login(portal_admin)

    response = client.get("/")

    overview = response.context["overview"]
    assert overview.releasing_count == 2
    assert [did.reserved_for_user_till for did in overview.releasing] == sorted(
        did.reserved_for_user_till
        for did in inventory
        if did.status == Did.Status.CLOSED
        and did.reserved_for_user_till < timezone.now() + timedelta(days=7)
    )
    assert 'id="releasing-count">2<' in response.content.decode()


def test_recently_changed_lists_the_last_changes_first(client, portal_admin):
    old = DidFactory(updated_at=timezone.now() - timedelta(days=3))
    new = DidFactory(updated_at=timezone.now() - timedelta(minutes=1))
    DidFactory(updated_at=None)
    client.force_login(portal_admin)

    overview = client.get("/").context["overview"]

    assert [did.pk for did in overview.recent] == [new.pk, old.pk]


def test_dids_added_per_month_cover_the_last_twelve_months(client, portal_admin):
    now = timezone.now()
    starts = month_starts(now)
    DidFactory()
    DidFactory()
    older = DidFactory()
    Did.objects.filter(pk=older.pk).update(created_at=starts[0] + timedelta(hours=1))
    ancient = DidFactory()
    Did.objects.filter(pk=ancient.pk).update(created_at=starts[0] - timedelta(days=1))
    client.force_login(portal_admin)

    response = client.get("/")

    months = response.context["overview"].months
    assert len(months) == 12
    assert [m.count for m in months] == [1, *([0] * 10), 2]
    assert months[-1].label == now.strftime("%b %Y")
    html = response.content.decode()
    assert html.count('class="chart-bar"') == 12


def test_month_starts_follow_the_calendar_across_a_year_end():
    starts = month_starts(datetime(2026, 2, 10, tzinfo=UTC))
    assert [(s.year, s.month) for s in starts] == [
        (2025, 3),
        (2025, 4),
        (2025, 5),
        (2025, 6),
        (2025, 7),
        (2025, 8),
        (2025, 9),
        (2025, 10),
        (2025, 11),
        (2025, 12),
        (2026, 1),
        (2026, 2),
        (2026, 3),
    ]


def test_charts_are_inline_svg_without_scripts(client, inventory, portal_admin):
    """The Content-Security-Policy forbids inline scripts and styles: the charts are SVG
    drawn on the server, coloured by the stylesheet."""
    client.force_login(portal_admin)

    response = client.get("/")

    html = response.content.decode()
    assert '<svg class="chart status-chart"' in html
    # Every script is a file: no <script> without a src.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " style=" not in html
    segments = re.findall(
        r'<rect x="[\d.]+" y="0" width="([\d.]+)" height="28" class="chart-(\w+)"', html
    )
    assert {status for _, status in segments} == {
        "free",
        "reserved",
        "active",
        "closed",
        "terminated",
    }
    assert abs(sum(float(width) for width, _ in segments) - 600) < 0.1
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_an_accountant_without_manage_dids_gets_an_overview_not_a_403(
    client, inventory, accountant_without_right
):
    client.force_login(accountant_without_right)

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="no-dids-right"' in html
    assert "Manage DIDs" in html
    assert "overview" not in response.context
    assert not re.search(r"\b3706\d{7}\b", html)


def test_the_home_page_needs_sign_in(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_the_home_page_does_not_show_an_expired_closed_did_as_closed(
    client, portal_admin, end_user
):
    DidFactory(
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now() - timedelta(minutes=1),
    )
    client.force_login(portal_admin)

    overview = client.get("/").context["overview"]

    assert {f.key: f.count for f in overview.statuses}["closed"] == 0
    assert {f.key: f.count for f in overview.statuses}["free"] == 1


def test_the_home_page_reads_in_a_fixed_number_of_queries(
    client, inventory, portal_admin, django_assert_max_num_queries
):
    client.force_login(portal_admin)
    client.get("/")

    # Session and user, release check, one grouped count, resellers, providers, the two
    # small lists, twelve month counts: never one query per DID or per reseller.
    with django_assert_max_num_queries(25):
        client.get("/")
