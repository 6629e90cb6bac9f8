"""Who may call which write method (did_methods.md §5.1, §4 check 6): every role, the
reseller setting on and off, and API-restricted accounts with and without the write level."""

import pytest

from accounts.models import API_METHODS, MethodRight, SystemSettings, User
from dids.api.methods import METHODS
from dids.api.methods.testing import outcome_of
from portal.testing.factories import ApiPermissionGroupFactory

from .conftest import api, reseller_request, state, system_request

MANAGE = "You are not authorized to manage DIDs"
FUNCTIONALITY = "You are not authorized to use this functionality"
ACCOUNTANT_TEXT = {
    "did_create": MANAGE,
    "did_device_assign": MANAGE,
    "did_device_unassign": MANAGE,
    "did_details_update": FUNCTIONALITY,
    "did_subscription_stop": FUNCTIONALITY,
    "did_close": FUNCTIONALITY,
    "did_terminate": FUNCTIONALITY,
    "did_make_free": FUNCTIONALITY,
    "did_delete": FUNCTIONALITY,
}
SUCCESS = {
    "did_create": ("success", "DID created"),
    "did_device_assign": ("success", "Device assigned to DID"),
    "did_device_unassign": ("success", "Device was unassigned from DID"),
    "did_details_update": ("success", "DID details successfully updated"),
    "did_subscription_stop": ("success", "DID was successfully closed"),
    "did_close": ("success", "DID successfully closed"),
    "did_terminate": ("success", "DID successfully terminated"),
    "did_make_free": ("success", "DID successfully made available"),
    "did_delete": ("status", "DID successfully deleted"),
}


def answer(client, method, caller, params):
    return outcome_of(api(client, method, caller, **params))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("caller", ["alice", "wendy"])
def test_admins_and_accountants_with_write_may_call_every_method(client, world, method, caller):
    assert answer(client, method, caller, system_request(world, method)) == SUCCESS[method]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_accountants_with_read_none_or_no_group_get_their_methods_text(
    client, world, method, caller
):
    before = state()
    assert answer(client, method, caller, system_request(world, method)) == (
        "error",
        ACCOUNTANT_TEXT[method],
    )
    assert state() == before


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_users_are_access_denied(client, world, method, caller):
    before = state()
    params = system_request(world, method) if caller == "frank" else reseller_request(world, method)
    assert answer(client, method, caller, params) == ("error", "Access Denied")
    assert state() == before


RESELLER_OUTCOME = {
    **SUCCESS,
    "did_create": ("error", MANAGE),  # Resellers can add their own DIDs is off
    "did_terminate": ("error", "DID was not terminated"),
    "did_delete": ("error", "Access Denied"),
}


@pytest.mark.parametrize("method", METHODS)
def test_reseller_on_its_own_dids(client, world, method):
    assert (
        answer(client, method, "charlie", reseller_request(world, method))
        == (RESELLER_OUTCOME[method])
    )


OTHERS_DID = {
    "did_device_assign": "Your are not authorized to use this DID",
    "did_device_unassign": "You are not authorized to use this DID",
    "did_details_update": "DID was not found",
    "did_subscription_stop": "DID was not found",
    "did_close": "DID was not found",
    "did_terminate": "DID was not found",
    "did_make_free": "DID was not found",
    "did_delete": "Access Denied",
}


@pytest.mark.parametrize("method", OTHERS_DID)
def test_reseller_on_another_resellers_did(client, world, method):
    dave_did = str(world.free_held_dave.pk)
    params = {
        "did_device_assign": {"device_id": str(world.erin_dev.pk), "did": "102"},
        "did_device_unassign": {"did": "102"},
        "did_details_update": {"did_id": dave_did, "call_limit": "1"},
    }.get(method, {"dids_id": dave_did})
    before = state()
    assert answer(client, method, "charlie", params) == ("error", OTHERS_DID[method])
    assert state() == before


def test_reseller_setting_on_lets_a_reseller_pro_create_on_its_providers(client, world):
    SystemSettings.objects.filter(pk=1).update(resellers_can_add_their_own_dids=True)
    assert (
        answer(client, "did_create", "charlie", reseller_request(world, "did_create"))
        == (SUCCESS["did_create"])
    )
    # A reseller that is not PRO has no provider of its own to use.
    assert answer(
        client, "did_create", "dave", {"provider_id": str(world.daves.pk), "did": "557"}
    ) == ("error", "Your are not authorized to use this Provider")


# --- API restricted accounts (check 6) ------------------------------------------------


@pytest.fixture
def all_write(db):
    return ApiPermissionGroupFactory(
        name="Provisioning",
        methods={name: ("read" if name == "dids_get" else "write") for name in API_METHODS},
    )


@pytest.fixture
def none_write(db):
    return ApiPermissionGroupFactory(
        name="Readers", methods=dict.fromkeys(API_METHODS, MethodRight.DISABLED)
    )


def restrict(account: User, group) -> None:
    account.api_restricted = True
    account.api_permission_group = group
    account.save()


@pytest.mark.parametrize("method", METHODS)
def test_restricted_accountant_with_the_write_level_may_call(client, world, all_write, method):
    restrict(world.writer, all_write)
    assert answer(client, method, "wendy", system_request(world, method)) == SUCCESS[method]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("group", ["none_write", None])
def test_restricted_accountant_without_the_write_level_is_refused(
    client, world, request, method, group
):
    restrict(world.writer, request.getfixturevalue(group) if group else None)
    before = state()
    assert answer(client, method, "wendy", system_request(world, method)) == (
        "error",
        f"API method not permitted: {method}",
    )
    assert state() == before


def test_the_write_level_of_one_method_permits_only_that_method(client, world):
    only_close = ApiPermissionGroupFactory(name="Closing", methods={"did_close": "write"})
    restrict(world.writer, only_close)
    assert (
        answer(client, "did_close", "wendy", system_request(world, "did_close"))
        == (SUCCESS["did_close"])
    )
    assert answer(client, "did_subscription_stop", "wendy", {"dids_id": "1"}) == (
        "error",
        "API method not permitted: did_subscription_stop",
    )


@pytest.mark.parametrize("alias", ["did_assign_device", "did_unassign_device"])
def test_an_alias_uses_its_canonical_methods_entry(client, world, alias):
    canonical = "did_device_assign" if alias == "did_assign_device" else "did_device_unassign"
    group = ApiPermissionGroupFactory(name="One", methods={canonical: "write"})
    restrict(world.writer, group)
    assert answer(client, alias, "wendy", system_request(world, canonical)) == SUCCESS[canonical]
    group.methods = {canonical: "disabled"}
    group.save()
    assert answer(client, alias, "wendy", {"did": "100"}) == (
        "error",
        f"API method not permitted: {canonical}",
    )


def test_restricted_user_passing_check_6_is_still_access_denied(client, world, all_write):
    restrict(world.frank, all_write)
    assert answer(client, "did_close", "frank", {"dids_id": "1"}) == ("error", "Access Denied")


def test_restricted_user_without_the_level_is_refused_at_check_6(client, world, none_write):
    restrict(world.frank, none_write)
    assert answer(client, "did_close", "frank", {"dids_id": "1"}) == (
        "error",
        "API method not permitted: did_close",
    )
