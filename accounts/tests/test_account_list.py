"""The accounts list's sorting, ID column and pager; the account form's three save
buttons and its fields per role."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.forms import ROLE_FIELDS
from accounts.models import User
from portal.testing.factories import UserFactory

STRONG = "a-Strong-passphrase-42"


def usernames(response) -> list[str]:
    return [account.username for account in response.context["page_obj"]]


@pytest.fixture
def crowd(portal_admin, reseller, other_reseller, end_user, reseller_user):
    return [portal_admin, reseller, other_reseller, end_user, reseller_user]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["alice", "charlie", "dave", "erin", "frank"]),
        ("-username", ["frank", "erin", "dave", "charlie", "alice"]),
        ("name", ["alice", "charlie", "dave", "erin", "frank"]),
        ("role", ["alice", "charlie", "dave", "frank", "erin"]),
        # Descending, ties by the id descending too (erin was added after frank).
        ("-role", ["erin", "frank", "dave", "charlie", "alice"]),
        # System-owned accounts (no owner) first, then by the owner's username.
        ("owner", ["alice", "charlie", "dave", "frank", "erin"]),
    ],
)
def test_admin_sorts_the_accounts_list(client, crowd, sort, expected):
    client.force_login(crowd[0])

    response = client.get(reverse("accounts:account_list"), {"sort": sort} if sort else {})

    assert usernames(response) == expected


def test_the_id_column_sorts_by_id_both_ways(client, crowd):
    client.force_login(crowd[0])
    by_id = sorted(crowd, key=lambda account: account.pk)

    ascending = client.get(reverse("accounts:account_list"), {"sort": "id"})
    descending = client.get(reverse("accounts:account_list"), {"sort": "-id"})

    assert usernames(ascending) == [a.username for a in by_id]
    assert usernames(descending) == [a.username for a in reversed(by_id)]
    cells = re.findall(r'<tr data-id="(\d+)">\s*<td>(\d+)</td>', ascending.content.decode())
    assert [(int(a), int(b)) for a, b in cells] == [(a.pk, a.pk) for a in by_id]


def test_a_sort_link_keeps_the_search_and_reverses_the_current_sort(client, crowd):
    client.force_login(crowd[0])

    response = client.get(reverse("accounts:account_list"), {"q": "a", "sort": "username"})

    columns = {column["sort"]: column for column in response.context["columns"]}
    assert columns["username"]["url"] == "?q=a&sort=-username"
    assert columns["role"]["url"] == "?q=a&sort=role"
    assert columns["username"]["current"]


def test_an_unknown_sort_is_the_default_order(client, crowd):
    client.force_login(crowd[0])

    response = client.get(reverse("accounts:account_list"), {"sort": "password"})

    assert response.status_code == 200
    assert usernames(response) == ["alice", "charlie", "dave", "erin", "frank"]


def test_a_reseller_cannot_sort_by_the_owner_it_does_not_see(client, reseller, reseller_user):
    UserFactory(username="zed", role=User.Role.USER, owner=reseller)
    client.force_login(reseller)

    response = client.get(reverse("accounts:account_list"), {"sort": "-owner"})

    assert usernames(response) == ["erin", "zed"]
    assert "owner" not in [column["sort"] for column in response.context["columns"]]


def test_the_accounts_list_has_the_dids_lists_pager(client, portal_admin):
    portal_admin.items_per_page = 2
    portal_admin.save()
    for n in range(5):
        UserFactory(username=f"user{n}")
    client.force_login(portal_admin)

    response = client.get(reverse("accounts:account_list"), {"sort": "username", "page": "2"})

    html = response.content.decode()
    pager = html.split('id="account-paginator"', 1)[1].split("</p>", 1)[0]
    assert usernames(response) == ["user1", "user2"]
    assert '<span class="this-page" aria-current="page">2</span>' in pager
    assert 'href="?sort=username&amp;page=3" rel="next"' in pager
    assert 'href="?sort=username&amp;page=1" rel="prev"' in pager
    assert '<span class="row-count">6 accounts</span>' in pager


def account_form(**overrides) -> dict:
    data = {
        "username": "gina",
        "first_name": "Gina",
        "last_name": "New",
        "email": "",
        "role": User.Role.USER,
        "owner": "",
        "accountant_group": "",
        "api_permission_group": "",
        "is_active": "on",
        "password": STRONG,
        "password_confirm": STRONG,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("button", "where"),
    [
        ("_save", "list"),
        ("_addanother", "create"),
        ("_continue", "edit"),
    ],
)
def test_the_three_save_buttons_lead_where_the_django_admins_do(
    client, portal_admin, button, where
):
    client.force_login(portal_admin)

    response = client.post(reverse("accounts:account_create"), account_form(**{button: "x"}))

    gina = User.objects.get(username="gina")
    expected = {
        "list": reverse("accounts:account_list"),
        "create": reverse("accounts:account_create"),
        "edit": reverse("accounts:account_edit", args=[gina.pk]),
    }[where]
    assert response.status_code == 302
    assert response.url == expected
    again = client.post(
        reverse("accounts:account_edit", args=[gina.pk]),
        {**account_form(first_name="Georgina", **{button: "x"}), "password": ""},
    )
    assert again.url == expected
    gina.refresh_from_db()
    assert gina.first_name == "Georgina"


def test_the_account_form_offers_the_three_buttons(client, portal_admin, end_user):
    client.force_login(portal_admin)

    for url in (
        reverse("accounts:account_create"),
        reverse("accounts:account_edit", args=[end_user.pk]),
    ):
        html = client.get(url).content.decode()
        assert 'value="Save" class="default" name="_save"' in html
        assert 'value="Save and add another" name="_addanother"' in html
        assert 'value="Save and continue editing" name="_continue"' in html


def test_fields_of_some_roles_only_say_which_roles(client, portal_admin):
    """portal.js shows a field only for the roles its data-for-roles names."""
    client.force_login(portal_admin)

    html = client.get(reverse("accounts:account_create")).content.decode()

    assert {name: set(roles) for name, roles in ROLE_FIELDS.items()} == {
        "owner": {"user"},
        "accountant_group": {"accountant"},
        "api_restricted": {"user", "accountant"},
        "api_permission_group": {"user", "accountant"},
        "own_providers": {"reseller"},
        "is_system_administrator": {"admin"},
    }
    for name, roles in ROLE_FIELDS.items():
        tag = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html).group(0)
        assert f'data-for-roles="{" ".join(roles)}"' in tag, name
    for name in ("username", "role", "first_name", "is_active"):
        tag = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html).group(0)
        assert "data-for-roles" not in tag, name
