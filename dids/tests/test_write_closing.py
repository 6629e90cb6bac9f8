"""did_subscription_stop, did_close, did_terminate, did_make_free and did_delete
(did_methods.md §12-§16): every row of their check tables, the first failure winning
between neighbours, and the effects seen through dids_get and the history."""

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import AuditEntry, SystemSettings
from dids import services
from dids.api.methods.testing import extra_of, outcome_of
from dids.models import Did, DidHistory

from .conftest import api, last_change, listed, refused, state, succeeded

BY_ID = ["did_subscription_stop", "did_close", "did_terminate", "did_make_free", "did_delete"]
FAILURE_TEXTS = {
    "did_subscription_stop": "DID was not saved",
    "did_close": "DID was not saved",
    "did_terminate": "DID was not terminated",
    "did_make_free": "DID was not saved",
    "did_delete": "DID was not deleted",
}


@pytest.fixture
def unchanged():
    before = state()
    yield
    assert state() == before


def pk(world, name) -> str:
    return str(world.dids[name].pk)


# --- What the five methods share: checks 7-9 -------------------------------------------


@pytest.mark.parametrize("method", BY_ID)
@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_users_are_refused(client, world, unchanged, method, caller):
    assert refused(client, method, caller, dids_id=pk(world, "closed_frank")) == "Access Denied"


@pytest.mark.parametrize("method", BY_ID)
@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_accountants_without_write_are_refused(client, world, unchanged, method, caller):
    assert refused(client, method, caller, dids_id=pk(world, "closed_frank")) == (
        "You are not authorized to use this functionality"
    )


@pytest.mark.parametrize("method", BY_ID)
@pytest.mark.parametrize("value", [None, "abc", "7abc", "0", "-1", "9" * 25, "99999"])
def test_missing_malformed_or_unknown_id(client, world, unchanged, method, value):
    params = {} if value is None else {"dids_id": value}
    assert refused(client, method, "alice", **params) == "DID was not found"


@pytest.mark.parametrize("method", BY_ID[:4])
@pytest.mark.parametrize("name", ["closed_frank", "free_held_dave", "terminated"])
def test_a_did_the_reseller_does_not_hold_is_not_found(client, world, unchanged, method, name):
    assert refused(client, method, "charlie", dids_id=pk(world, name)) == "DID was not found"


@pytest.mark.parametrize("method", BY_ID)
def test_7_before_8_before_9(client, world, unchanged, method):
    assert refused(client, method, "frank") == "Access Denied"
    assert refused(client, method, "bob", dids_id="abc") == (
        "You are not authorized to use this functionality"
    )


@pytest.mark.parametrize("method", BY_ID)
def test_a_failed_write_is_the_failure_text(client, world, unchanged, monkeypatch, method):
    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(services, "did_apply", broken)
    assert (
        refused(client, method, "alice", dids_id=pk(world, "terminated")) == (FAILURE_TEXTS[method])
    )


# --- did_subscription_stop -------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "name"),
    [
        ("alice", "free"),
        ("alice", "reserved_frank"),
        ("alice", "active_plan"),
        ("alice", "terminated"),
        ("charlie", "free_held"),
        ("charlie", "active_plan_held"),
    ],
)
def test_subscription_stop_on_a_did_that_is_not_working_on_a_device(
    client, world, unchanged, caller, name
):
    assert refused(client, "did_subscription_stop", caller, dids_id=pk(world, name)) == (
        "DID is not assigned to Device"
    )


@pytest.mark.parametrize(("caller", "name"), [
    ("alice", "active_frank"), ("wendy", "active_erin"), ("charlie", "active_erin"),
])  # fmt: skip
def test_subscription_stop_closes_an_active_did(client, world, caller, name):
    response = api(client, "did_subscription_stop", caller, dids_id=pk(world, name))
    assert outcome_of(response) == ("success", "DID was successfully closed")
    assert extra_of(response) == []
    did = world.did(name)
    before = world.dids[name]
    assert (did.status, did.user, did.device, did.reseller) == (
        "closed",
        before.user,
        before.device,
        before.reseller,
    )
    now = timezone.now()
    assert now + timedelta(days=89) < did.reserved_for_user_till <= now + timedelta(days=90)
    row = listed(client, world.admin, did.number)
    assert row["did_status"] == "closed"
    assert row["reserved_for_user_till"].startswith(str(did.reserved_for_user_till.year))
    entry = last_change(did)
    assert (entry.by.username, entry.source, entry.action) == (caller, "api", "close")


def test_subscription_stop_on_a_closed_did_restarts_the_period(client, world):
    SystemSettings.objects.filter(pk=1).update(days_for_did_close=10)
    assert succeeded(client, "did_subscription_stop", "alice", dids_id=pk(world, "closed_frank"))
    did = world.did("closed_frank")
    assert did.status == "closed"
    assert did.reserved_for_user_till <= timezone.now() + timedelta(days=10)
    assert last_change(did).action == "close again"


def test_subscription_stop_reads_did_id_when_dids_id_is_absent(client, world):
    assert succeeded(client, "did_subscription_stop", "charlie", did_id=pk(world, "active_erin"))
    assert world.did("active_erin").status == "closed"


def test_subscription_stop_prefers_dids_id_over_did_id(client, world):
    assert succeeded(
        client,
        "did_subscription_stop",
        "alice",
        dids_id=pk(world, "active_frank"),
        did_id=pk(world, "free"),
    )
    assert world.did("active_frank").status == "closed"
    assert world.did("free").status == "free"


def test_subscription_stop_with_an_empty_dids_id_reads_did_id(client, world):
    assert succeeded(
        client, "did_subscription_stop", "alice", dids_id="", did_id=pk(world, "active_frank")
    )


def test_a_closed_did_past_its_date_is_released_before_it_is_judged(client, world):
    Did.objects.filter(pk=world.closed_frank.pk).update(
        reserved_for_user_till=timezone.now() - timedelta(minutes=1)
    )
    assert refused(client, "did_subscription_stop", "alice", dids_id=pk(world, "closed_frank")) == (
        "DID is not assigned to Device"
    )
    did = world.did("closed_frank")
    assert (did.status, did.user, did.device) == ("free", None, None)
    assert last_change(did).action == "release"


# --- did_close -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "name", "text"),
    [
        ("alice", "closed_frank", "DID is already closed"),
        ("charlie", "closed_erin", "DID is already closed"),
        ("alice", "active_plan", "DID is assigned to Dial Plan"),
        ("charlie", "active_plan_held", "DID is assigned to Dial Plan"),
        ("alice", "free", "DID is not assigned to Device"),
        ("alice", "reserved_frank", "DID is not assigned to Device"),
        ("alice", "terminated", "DID is not assigned to Device"),
    ],
)
def test_close_refusals(client, world, unchanged, caller, name, text):
    assert refused(client, "did_close", caller, dids_id=pk(world, name)) == text


def test_close_answers_the_dids_id(client, world):
    response = api(client, "did_close", "charlie", dids_id=pk(world, "active_erin"))
    assert outcome_of(response) == ("success", "DID successfully closed")
    assert extra_of(response) == [("did_details", [("id", pk(world, "active_erin"))])]
    did = world.did("active_erin")
    assert (did.status, did.reseller, did.user, did.device) == (
        "closed",
        world.charlie,
        world.erin,
        world.erin_dev,
    )
    assert listed(client, world.charlie, "106")["did_status"] == "closed"
    assert (last_change(did).action, last_change(did).source) == ("close", "api")


def test_close_ignores_did_id(client, world, unchanged):
    assert refused(client, "did_close", "alice", did_id=pk(world, "active_frank")) == (
        "DID was not found"
    )


# --- did_terminate ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reserved_frank", "active_frank", "active_plan", "terminated"])
def test_terminate_only_free_or_closed(client, world, unchanged, name):
    assert refused(client, "did_terminate", "alice", dids_id=pk(world, name)) == (
        "DID was not terminated. Only Free or Closed DIDs can be terminate"
    )


@pytest.mark.parametrize(("caller", "name"), [
    ("alice", "free_held"), ("wendy", "free_held_dave"), ("charlie", "free_held"),
    ("charlie", "closed_erin"),
])  # fmt: skip
def test_terminate_refused_for_resellers_and_for_a_free_did_a_reseller_holds(
    client, world, unchanged, caller, name
):
    assert refused(client, "did_terminate", caller, dids_id=pk(world, name)) == (
        "DID was not terminated"
    )


def test_terminate_10_before_11(client, world, unchanged):
    assert refused(client, "did_terminate", "charlie", dids_id=pk(world, "active_erin")) == (
        "DID was not terminated. Only Free or Closed DIDs can be terminate"
    )


@pytest.mark.parametrize("name", ["free", "closed_frank", "closed_erin"])
def test_terminate(client, world, name):
    response = api(client, "did_terminate", "alice", dids_id=pk(world, name))
    assert outcome_of(response) == ("success", "DID successfully terminated")
    did = world.did(name)
    assert (did.status, did.user, did.device, did.dial_plan, did.reseller) == (
        "terminated",
        None,
        None,
        None,
        None,
    )
    assert did.reserved_for_user_till is None
    assert (did.number, did.provider) == (world.dids[name].number, world.sys)  # kept
    assert listed(client, world.admin, did.number)["did_status"] == "terminated"
    assert (last_change(did).action, last_change(did).by) == ("terminate", world.admin)


# --- did_make_free ---------------------------------------------------------------------


@pytest.mark.parametrize(("caller", "name"), [
    ("alice", "free"), ("alice", "active_frank"), ("alice", "active_plan"),
    ("charlie", "free_held"), ("charlie", "active_erin"),
])  # fmt: skip
def test_make_free_only_terminated_reserved_or_closed(client, world, unchanged, caller, name):
    assert refused(client, "did_make_free", caller, dids_id=pk(world, name)) == (
        "DID was not freed. Only Terminated, Reserved or Closed DIDs can be freed"
    )


@pytest.mark.parametrize(
    ("caller", "name", "reseller_after"),
    [
        ("alice", "terminated", None),
        ("alice", "reserved_frank", None),
        ("wendy", "closed_frank", None),
        ("alice", "closed_erin", None),  # the operator: it leaves its reseller
        ("charlie", "closed_erin", "charlie"),  # its reseller keeps holding it (E23)
        ("charlie", "reserved_erin", "charlie"),
        ("charlie", "terminated_held", "charlie"),
    ],
)
def test_make_free(client, world, caller, name, reseller_after):
    response = api(client, "did_make_free", caller, dids_id=pk(world, name))
    assert outcome_of(response) == ("success", "DID successfully made available")
    did = world.did(name)
    assert (did.status, did.user, did.device, did.dial_plan) == ("free", None, None, None)
    assert did.reserved_for_user_till is None
    assert did.reseller == (world.accounts[reseller_after] if reseller_after else None)
    viewer = world.charlie if reseller_after else world.admin
    assert listed(client, viewer, did.number)["did_status"] == "free"
    entry = last_change(did)
    assert (entry.by.username, entry.source, entry.action) == (caller, "api", "make free")


# --- did_delete --------------------------------------------------------------------------


def test_delete_refuses_resellers(client, world, unchanged):
    assert refused(client, "did_delete", "charlie", dids_id=pk(world, "terminated_held")) == (
        "Access Denied"
    )


def test_a_resellers_delete_is_no_authentication_failure(client, world, settings):
    settings.API_AUTH_FAILURE_LIMIT = 2
    for _ in range(4):
        assert refused(client, "did_delete", "charlie", dids_id="1") == "Access Denied"


@pytest.mark.parametrize("name", ["free", "reserved_frank", "active_frank", "closed_frank"])
def test_delete_only_terminated(client, world, unchanged, name):
    assert refused(client, "did_delete", "alice", dids_id=pk(world, name)) == (
        "DID status must be terminated"
    )


def test_delete_refuses_a_did_on_a_queue(client, world, unchanged):
    assert refused(client, "did_delete", "alice", dids_id=pk(world, "terminated_queue")) == (
        "Cannot delete DID associated with queues"
    )


@pytest.mark.parametrize(
    ("caller", "name"), [("alice", "terminated"), ("wendy", "terminated_held")]
)
def test_delete(client, world, caller, name):
    did = world.dids[name]
    DidHistory.objects.create(did=did, source="gui", action="terminate")
    response = api(client, "did_delete", caller, dids_id=str(did.pk))
    assert outcome_of(response) == ("status", "DID successfully deleted")
    assert not Did.objects.filter(pk=did.pk).exists()
    assert not DidHistory.objects.filter(did_id=did.pk).exists()
    assert listed(client, world.admin, did.number) is None
    (entry,) = AuditEntry.objects.filter(object_type="DID")
    assert (entry.actor.username, entry.action, entry.object_id) == (caller, "delete", str(did.pk))
    assert did.number in entry.object_repr
    # The number may be created again.
    assert succeeded(
        client, "did_create", "alice", provider_id=str(world.sys.pk), did=did.number
    ) == ("DID created")


def test_a_second_delete_finds_no_did(client, world):
    assert succeeded(client, "did_delete", "alice", dids_id=pk(world, "terminated"))
    assert refused(client, "did_delete", "alice", dids_id=pk(world, "terminated")) == (
        "DID was not found"
    )
