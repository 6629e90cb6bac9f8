"""The API settings an account's request is governed by: read along with the account in
the API's one account query (with_settings_chain), they are exactly the settings that
settings_chain reads on its own, for every kind of account, with rows or without."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.api_hash import settings_chain
from accounts.authentication import account_named
from accounts.models import ApiSettings, User
from portal.testing.factories import ApiSettingsFactory, UserFactory

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in ApiSettings._meta.concrete_fields]


def shown(chain: list[ApiSettings]) -> list[tuple]:
    return [
        (tuple(getattr(s, name) for name in FIELDS), s._state.adding, s.reseller_id) for s in chain
    ]


@pytest.fixture
def accounts(portal_admin, accountant, reseller, reseller_user, end_user) -> list[User]:
    pro = UserFactory(username="pro", role=User.Role.RESELLER, own_providers=True)
    return [portal_admin, accountant, reseller, reseller_user, end_user, pro]


@pytest.mark.parametrize(
    "rows",
    [(), ("system",), ("system", "charlie"), ("charlie",), ("system", "pro")],
    ids=["none", "system", "system-and-reseller", "reseller-only", "another-reseller"],
)
def test_read_with_the_account_or_on_its_own_the_chain_is_the_same(accounts, rows):
    for owner in rows:
        ApiSettingsFactory(
            reseller=None if owner == "system" else User.objects.get(username=owner),
            allow_api=True,
            allow_get_api=owner == "system",
            api_secret_key=f"secret-{owner}",
            disable_hash_checking=owner == "pro",
        )
    for account in accounts:
        with CaptureQueriesContext(connection) as queries:
            found = account_named(account.username)
            along = settings_chain(found)
        assert len(queries.captured_queries) == 1, account.username
        alone = settings_chain(User.objects.get(pk=account.pk))
        assert shown(along) == shown(alone), account.username
        assert len(along) == (2 if account.settings_owner is not None else 1)


def test_a_change_is_read_by_the_next_request(accounts, reseller):
    system = ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="one")
    assert settings_chain(account_named("alice"))[0].api_secret_key == "one"
    system.api_secret_key = "two"
    system.save()
    assert settings_chain(account_named("alice"))[0].api_secret_key == "two"
    own = ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="r")
    assert [s.allow_api for s in settings_chain(account_named("erin"))] == [True, False]
    own.delete()
    assert [s.pk for s in settings_chain(account_named("erin"))] == [system.pk, None]
