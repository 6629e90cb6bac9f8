"""Who may open which administration page: deny by default, anonymous to sign-in."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccountantGroup, ApiPermissionGroup
from portal.testing.factories import AccountantGroupFactory, ApiPermissionGroupFactory

NOT_AUTHORISED = "You are not authorised to open this page."


@pytest.fixture
def groups(db) -> tuple[AccountantGroup, ApiPermissionGroup]:
    return AccountantGroupFactory(name="Audit"), ApiPermissionGroupFactory(name="Readers")


def admin_only_urls(reseller, groups) -> list[str]:
    accountant_group, api_group = groups
    return [
        reverse("accounts:account_create"),
        reverse("accounts:account_edit", args=[reseller.pk]),
        reverse("accounts:account_password", args=[reseller.pk]),
        reverse("accounts:reseller_api_settings", args=[reseller.pk]),
        reverse("accounts:accountant_group_list"),
        reverse("accounts:accountant_group_create"),
        reverse("accounts:accountant_group_edit", args=[accountant_group.pk]),
        reverse("accounts:accountant_group_delete", args=[accountant_group.pk]),
        reverse("accounts:api_group_list"),
        reverse("accounts:api_group_create"),
        reverse("accounts:api_group_edit", args=[api_group.pk]),
        reverse("accounts:api_group_delete", args=[api_group.pk]),
        reverse("accounts:system_settings"),
        reverse("accounts:audit_log"),
    ]


def every_url(reseller, groups) -> list[str]:
    return [
        *admin_only_urls(reseller, groups),
        reverse("accounts:account_list"),
        reverse("accounts:api_settings"),
        reverse("accounts:hash_tool"),
    ]


def test_anonymous_is_sent_to_sign_in_from_every_page(client, reseller, groups):
    for url in every_url(reseller, groups):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response.url == f"{reverse('login')}?next={url}", url


def test_admin_opens_every_page(client, portal_admin, reseller, groups):
    client.force_login(portal_admin)
    for url in every_url(reseller, groups):
        response = client.get(url)
        assert response.status_code == 200, url
        assert NOT_AUTHORISED not in response.content.decode()


@pytest.mark.parametrize(
    "persona", ["accountant", "accountant_without_right", "end_user", "reseller_user"]
)
def test_accountants_and_users_are_not_authorised_anywhere(
    client, request, persona, reseller, groups, system_api
):
    account = request.getfixturevalue(persona)
    client.force_login(account)
    # With the API off for them, even the hash tool is closed to them.
    system_api.allow_api = False
    system_api.save()
    for url in every_url(reseller, groups):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 403, url
            assert NOT_AUTHORISED in response.content.decode(), url


def test_reseller_is_refused_the_admin_pages(client, reseller, other_reseller, groups):
    client.force_login(reseller)
    for url in admin_only_urls(other_reseller, groups):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 403, url
            assert NOT_AUTHORISED in response.content.decode()


def test_reseller_opens_its_users_api_settings_and_hash_tool(client, reseller):
    client.force_login(reseller)
    for name in ("accounts:account_list", "accounts:api_settings", "accounts:hash_tool"):
        assert client.get(reverse(name)).status_code == 200, name


def test_inactive_admin_is_not_authorised(client, portal_admin):
    client.force_login(portal_admin)
    portal_admin.is_active = False
    portal_admin.save()
    # Django signs an inactive account out on its next request.
    response = client.get(reverse("accounts:audit_log"))
    assert response.status_code == 302


def test_navigation_shows_the_administration_to_admins_only(
    client, portal_admin, reseller, end_user
):
    client.force_login(portal_admin)
    body = client.get(reverse("accounts:account_list")).content.decode()
    for label in ("Accountant groups", "API groups", "System settings", "Audit log"):
        assert f">{label}</a>" in body
    client.force_login(reseller)
    body = client.get(reverse("accounts:account_list")).content.decode()
    assert ">API settings</a>" in body
    assert ">Generate hash</a>" in body
    assert ">Audit log</a>" not in body
    assert ">Accountant groups</a>" not in body


def test_forms_enforce_csrf(portal_admin, reseller):
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:system_settings"), {"days_for_did_close": "10"})
    assert response.status_code == 403
    from accounts.models import SystemSettings

    assert SystemSettings.load().days_for_did_close == 90
    # With the token from the page, the same post goes through.
    page = client.get(reverse("accounts:system_settings"))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("accounts:system_settings"),
        {"days_for_did_close": "10", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert SystemSettings.load().days_for_did_close == 10


def test_the_menu_names_the_account_list_as_its_page_does(client, portal_admin, reseller):
    """A reseller's list is titled "My users": its menu entry says so, not "Accounts"."""

    def menu(account) -> list[str]:
        client.force_login(account)
        response = client.get(reverse("accounts:account_list"))
        assert [item["label"] for item in response.context["portal_nav"] if item["active"]] == [
            response.context["title"]
        ]
        return [item["label"] for item in response.context["portal_nav"]]

    assert "Accounts" in menu(portal_admin)
    assert "My users" not in menu(portal_admin)
    assert "My users" in menu(reseller)
    assert "Accounts" not in menu(reseller)


def test_a_stale_form_gets_the_portals_explanation_and_changes_nothing(portal_admin):
    """Not Django's bare "CSRF verification failed": what happened and what to do."""
    from accounts.models import SystemSettings

    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)
    client.get(reverse("accounts:system_settings"))  # sets the CSRF cookie
    response = client.post(
        reverse("accounts:system_settings"),
        {"days_for_did_close": "10", "csrfmiddlewaretoken": "stale" * 13},
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>Form expired | DID portal</title>" in page
    assert "Nothing was changed: the form was sent\n  with a security token" in page
    assert "Go back, reload the\n  page, and send the form again." in page
    assert SystemSettings.load().days_for_did_close == 90


def test_pages_under_an_account_lead_back_to_it_in_the_breadcrumbs(client, portal_admin, reseller):
    client.force_login(portal_admin)
    edit = reverse("accounts:account_edit", args=[reseller.pk])
    for name, title in (
        ("accounts:account_password", "Reset the password of charlie"),
        ("accounts:reseller_api_settings", "API settings of Charlie Resale"),
    ):
        page = client.get(reverse(name, args=[reseller.pk])).content.decode()
        crumbs = page.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
        assert " ".join(crumbs.split()) == (
            '<a href="/">Home</a> &rsaquo; <a href="/accounts/">Accounts</a> '
            f'&rsaquo; <a href="{edit}">charlie</a> &rsaquo; {title}'
        )
