"""What an actor may name as the object of an action (`target_queryset`) and why a
given object cannot be it (`target_problem`): the checks the DID page's forms use."""

from __future__ import annotations

import pytest

from accounts.models import User
from dids.services import target_problem, target_queryset
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


@pytest.fixture
def things(reseller, other_reseller, reseller_user, end_user):
    other_user = UserFactory(username="olga", role=User.Role.USER, owner=other_reseller)
    return {
        "devices": [
            DeviceFactory(user=reseller_user),
            DeviceFactory(user=end_user),
            DeviceFactory(user=other_user),
        ],
        "plans": [
            DialPlanFactory(owner=reseller),
            DialPlanFactory(owner=None),
            DialPlanFactory(owner=other_reseller),
        ],
        "providers": [ProviderFactory(owner=reseller), ProviderFactory(owner=None)],
        "other_user": other_user,
    }


def test_the_operator_names_everything(portal_admin, reseller, other_reseller, things):
    assert target_queryset("device", portal_admin).count() == 3
    assert target_queryset("dial_plan", portal_admin).count() == 3
    assert target_queryset("provider", portal_admin).count() == 2
    assert set(target_queryset("reseller", portal_admin)) == {reseller, other_reseller}


def test_a_reseller_names_only_its_own_circle(reseller, reseller_user, things):
    assert list(target_queryset("user", reseller)) == [reseller_user]
    assert list(target_queryset("device", reseller)) == things["devices"][:1]
    assert list(target_queryset("dial_plan", reseller)) == things["plans"][:1]
    assert list(target_queryset("reseller", reseller)) == []
    # A plain reseller has no providers of its own to pick; a Reseller PRO has.
    assert list(target_queryset("provider", reseller)) == []
    reseller.own_providers = True
    assert list(target_queryset("provider", reseller)) == things["providers"][:1]


@pytest.mark.parametrize("persona", ["accountant", "end_user", "accountant_without_right"])
def test_readers_and_users_name_nothing(request, things, persona):
    actor = request.getfixturevalue(persona)
    for kind in ("user", "device", "dial_plan", "reseller", "provider"):
        assert not target_queryset(kind, actor).exists()


def test_target_problem_says_why_in_the_services_words(reseller, reseller_user, things):
    did = DidFactory(reseller=reseller)
    assert target_problem(did, "reserve", reseller_user, reseller) is None
    assert target_problem(did, "reserve", things["other_user"], reseller) == (
        f"{things['other_user'].display_name} is not a user of the DID's reseller."
    )
    assert target_problem(did, "assign_device", things["devices"][0], reseller) is None
    assert "does not belong to the DID's reseller's users" in target_problem(
        did, "assign_device", things["devices"][1], reseller
    )
    assert target_problem(did, "close", None, reseller) is None  # needs no target
