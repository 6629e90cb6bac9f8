"""The visibility matrix (contract §6): each role against DIDs held by others, by its
reseller, by itself."""

import pytest

from accounts.models import User
from dids.models import Did
from portal.testing.factories import DidFactory, UserFactory


@pytest.fixture
def inventory(reseller, other_reseller, reseller_user, end_user):
    """One DID in each position a DID can be in relative to the personas."""
    stranger = UserFactory(username="stranger", role=User.Role.USER, owner=other_reseller)
    return {
        "unheld": DidFactory(number="100"),
        "end_user": DidFactory(number="101", user=end_user, status=Did.Status.RESERVED),
        "reseller_stock": DidFactory(number="102", reseller=reseller),
        "reseller_user": DidFactory(
            number="103", reseller=reseller, user=reseller_user, status=Did.Status.ACTIVE
        ),
        "other_reseller": DidFactory(number="104", reseller=other_reseller),
        "stranger": DidFactory(
            number="105", reseller=other_reseller, user=stranger, status=Did.Status.RESERVED
        ),
        "terminated": DidFactory(number="106", status=Did.Status.TERMINATED),
    }


def visible_keys(account, inventory) -> set[str]:
    ids = set(Did.objects.visible_to(account).values_list("id", flat=True))
    return {key for key, did in inventory.items() if did.id in ids}


ALL = {
    "unheld",
    "end_user",
    "reseller_stock",
    "reseller_user",
    "other_reseller",
    "stranger",
    "terminated",
}


def test_admin_sees_every_did(portal_admin, inventory):
    assert visible_keys(portal_admin, inventory) == ALL


def test_non_system_admin_sees_every_did(other_admin, inventory):
    assert visible_keys(other_admin, inventory) == ALL


def test_accountant_with_manage_dids_read_sees_every_did(accountant, inventory):
    assert visible_keys(accountant, inventory) == ALL


def test_accountant_with_manage_dids_write_sees_every_did(did_writers, inventory):
    writer = UserFactory(role=User.Role.ACCOUNTANT, accountant_group=did_writers)
    assert visible_keys(writer, inventory) == ALL


def test_accountant_without_right_sees_nothing(accountant_without_right, inventory):
    assert visible_keys(accountant_without_right, inventory) == set()


def test_accountant_without_group_sees_nothing(inventory):
    loner = UserFactory(role=User.Role.ACCOUNTANT, accountant_group=None)
    assert visible_keys(loner, inventory) == set()


def test_reseller_sees_only_the_dids_it_holds(reseller, inventory):
    assert visible_keys(reseller, inventory) == {"reseller_stock", "reseller_user"}


def test_reseller_does_not_see_other_resellers_dids(other_reseller, inventory):
    assert visible_keys(other_reseller, inventory) == {"other_reseller", "stranger"}


def test_reseller_user_sees_only_its_own_dids(reseller_user, inventory):
    assert visible_keys(reseller_user, inventory) == {"reseller_user"}


def test_system_user_sees_only_its_own_dids(end_user, inventory):
    assert visible_keys(end_user, inventory) == {"end_user"}


def test_user_with_no_dids_sees_nothing(inventory):
    assert visible_keys(UserFactory(role=User.Role.USER), inventory) == set()


@pytest.mark.parametrize("role", list(User.Role))
def test_disabled_account_sees_nothing(role, inventory, did_readers):
    account = UserFactory(role=role, is_active=False)
    if role == User.Role.ACCOUNTANT:
        account.accountant_group = did_readers
    assert visible_keys(account, inventory) == set()


def test_anonymous_sees_nothing(inventory):
    from django.contrib.auth.models import AnonymousUser

    assert visible_keys(AnonymousUser(), inventory) == set()
    assert visible_keys(None, inventory) == set()


def test_unknown_role_sees_nothing(inventory):
    account = UserFactory(role=User.Role.USER)
    account.role = "superhero"  # never stored (a check constraint refuses it), but deny anyway
    assert visible_keys(account, inventory) == set()
