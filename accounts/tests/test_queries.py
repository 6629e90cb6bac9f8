"""The list pages run a fixed number of queries, however many rows they show."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import User
from portal.testing.factories import AccountantGroupFactory, UserFactory


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def grow(portal_admin, reseller, n: int) -> None:
    for i in range(n):
        group = AccountantGroupFactory()
        UserFactory(role=User.Role.ACCOUNTANT, accountant_group=group)
        UserFactory(role=User.Role.USER, owner=reseller)
        services.system_settings_update(by=portal_admin, days_for_did_close=i)


def test_list_pages_do_not_grow_queries_with_rows(client, portal_admin, reseller):
    client.force_login(portal_admin)
    urls = [
        reverse("accounts:account_list"),
        reverse("accounts:accountant_group_list"),
        reverse("accounts:audit_log"),
    ]
    grow(portal_admin, reseller, 2)
    few = {url: count_queries(client, url) for url in urls}
    grow(portal_admin, reseller, 10)
    many = {url: count_queries(client, url) for url in urls}
    assert many == few
    assert max(few.values()) <= 8


def test_resellers_user_list_does_not_grow_queries(client, reseller):
    client.force_login(reseller)
    url = reverse("accounts:account_list")
    UserFactory.create_batch(2, role=User.Role.USER, owner=reseller)
    few = count_queries(client, url)
    UserFactory.create_batch(10, role=User.Role.USER, owner=reseller)
    assert count_queries(client, url) == few
