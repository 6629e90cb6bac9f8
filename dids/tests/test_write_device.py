"""did_device_assign and did_device_unassign (did_methods.md §9, §10): every row of the
check tables, the first failure winning between neighbours, and the effects seen
through dids_get and the history."""

import pytest
from django.db import DatabaseError

from dids import services
from dids.api.methods.testing import extra_of
from dids.models import Did

from .conftest import api, last_change, listed, refused, state, succeeded


def assign(client, caller, device, number):
    params = {"did": number}
    if device is not None:
        params["device_id"] = device
    return refused(client, "did_device_assign", caller, **params)


def unassign(client, caller, number, **params):
    return refused(client, "did_device_unassign", caller, did=number, **params)


@pytest.fixture
def unchanged():
    """Asserts that the test changed no DID, history or audit entry."""
    before = state()
    yield
    assert state() == before


# --- did_device_assign -------------------------------------------------------------


@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_assign_refuses_users(client, world, unchanged, caller):
    assert assign(client, caller, str(world.frank_dev.pk), "100") == "Access Denied"


@pytest.mark.parametrize("value", [None, "abc", "2x", "0", "-1", "9" * 25, "99999"])
def test_assign_missing_or_unknown_device(client, world, unchanged, value):
    assert assign(client, "alice", value, "100") == "Device was not found"


@pytest.mark.parametrize(
    ("caller", "device"),
    [
        ("alice", "erin_dev"),  # a reseller's user's device
        ("wendy", "dora_dev"),
        ("alice", "gus_dev"),  # a disabled account's device
        ("charlie", "frank_dev"),  # not one of its users
        ("charlie", "dora_dev"),
        ("charlie", "ghost_dev"),  # its user, but disabled
        ("charlie", "charlie_dev"),  # its own device is not one of its users'
    ],
)
def test_assign_device_outside_the_callers_scope(client, world, unchanged, caller, device):
    assert assign(client, caller, str(world.devices[device].pk), "100") == (
        "Your are not authorized to use this Device"
    )


@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_assign_refuses_accountants_without_write(client, world, unchanged, caller):
    assert assign(client, caller, str(world.frank_dev.pk), "100") == (
        "You are not authorized to manage DIDs"
    )


@pytest.mark.parametrize("number", [None, "", "999", "abc", "10", "1000", "100 0"])
def test_assign_missing_or_unknown_number(client, world, unchanged, number):
    params = {"device_id": str(world.frank_dev.pk)}
    if number is not None:
        params["did"] = number
    assert refused(client, "did_device_assign", "alice", **params) == "DID was not found"


@pytest.mark.parametrize(
    ("caller", "device", "number"),
    [
        ("alice", "frank_dev", "101"),  # held by charlie: the reseller assigns it
        ("wendy", "frank_dev", "102"),
        ("charlie", "erin_dev", "100"),  # held by no reseller
        ("charlie", "erin_dev", "102"),  # held by another reseller
    ],
)
def test_assign_did_outside_the_callers_scope(client, world, unchanged, caller, device, number):
    assert assign(client, caller, str(world.devices[device].pk), number) == (
        "Your are not authorized to use this DID"
    )


@pytest.mark.parametrize(("caller", "device", "number"), [
    ("alice", "frank_dev", "111"), ("charlie", "erin_dev", "113"),
])  # fmt: skip
def test_assign_terminated(client, world, unchanged, caller, device, number):
    assert assign(client, caller, str(world.devices[device].pk), number) == "DID is terminated"


@pytest.mark.parametrize(
    ("caller", "device", "number"),
    [
        ("alice", "frank_dev", "105"),  # active on a device
        ("alice", "frank_dev", "107"),  # active on a dial plan
        ("alice", "frank_dev", "109"),  # closed (re-activating is a GUI action)
        ("alice", "charlie_dev", "103"),  # reserved for someone else than the device's user
        ("charlie", "erin_dev", "106"),
        ("charlie", "erin_dev", "108"),
        ("charlie", "erin_dev", "110"),
    ],
)
def test_assign_did_that_is_not_free(client, world, unchanged, caller, device, number):
    assert assign(client, caller, str(world.devices[device].pk), number) == "DID is not free"


def test_assign_neighbours_first_failure_wins(client, world, unchanged):
    assert assign(client, "frank", None, "999") == "Access Denied"  # 7 / 8
    assert assign(client, "bob", str(world.erin_dev.pk), "999") == (  # 9 / 10
        "Your are not authorized to use this Device"
    )
    assert assign(client, "bob", str(world.frank_dev.pk), "999") == (  # 10 / 11
        "You are not authorized to manage DIDs"
    )
    assert assign(client, "alice", str(world.frank_dev.pk), "113") == (  # 12 / 13
        "Your are not authorized to use this DID"
    )
    assert assign(client, "alice", None, "113") == "Device was not found"  # 8 / 12


def test_admin_assigns_a_free_did_to_a_device(client, world):
    response = api(
        client, "did_device_assign", "alice", device_id=str(world.frank_dev.pk), did=" 100 "
    )
    assert extra_of(response) == []
    did = world.did("free")
    assert (did.status, did.user, did.device, did.reseller) == (
        "active",
        world.frank,
        world.frank_dev,
        None,
    )
    row = listed(client, world.admin, "100")
    assert (row["did_status"], row["device"], row["user_id"], row["owner"]) == (
        "active",
        "SIP/frank-pbx",
        str(world.frank.pk),
        world.frank.display_name,
    )
    entry = last_change(did)
    assert (entry.by, entry.source, entry.action) == (world.admin, "api", "assign device")
    assert set(entry.changes) == {"status", "user", "device"}


def test_a_reserved_did_goes_to_its_users_device(client, world):
    assert succeeded(
        client, "did_device_assign", "wendy", device_id=str(world.frank_dev.pk), did="103"
    ) == ("Device assigned to DID")
    did = world.did("reserved_frank")
    assert (did.status, did.device) == ("active", world.frank_dev)


def test_admin_puts_a_did_on_a_system_resellers_own_device(client, world):
    # The reseller's account itself is in the system's scope (§5.2).
    assert succeeded(
        client, "did_device_assign", "alice", device_id=str(world.charlie_dev.pk), did="100"
    ) == ("Device assigned to DID")
    assert world.did("free").user == world.charlie


@pytest.mark.parametrize("number", ["101", "104"])
def test_reseller_assigns_its_did_to_its_users_device(client, world, number):
    assert succeeded(
        client, "did_device_assign", "charlie", device_id=str(world.erin_dev.pk), did=number
    ) == ("Device assigned to DID")
    did = Did.objects.get(number=number)
    assert (did.status, did.user, did.device, did.reseller) == (
        "active",
        world.erin,
        world.erin_dev,
        world.charlie,
    )
    assert listed(client, world.charlie, number)["device"] == "IAX2/erin-1"
    assert listed(client, world.erin, number)["did_status"] == "active"
    assert last_change(did).by == world.charlie


def test_assign_test_1_adds_the_ids(client, world):
    response = api(
        client,
        "did_device_assign",
        "alice",
        device_id=str(world.frank_dev.pk),
        did="100",
        test="1",
    )
    from dids.api.testing import body_of

    page = body_of(response).decode()
    assert (
        f"&lt;/status&gt;\n  &lt;did_id&gt;{world.free.pk}&lt;/did_id&gt;\n"
        f"  &lt;device_id&gt;{world.frank_dev.pk}&lt;/device_id&gt;\n&lt;/page&gt;" in page
    )
    assert world.did("free").status == "active"  # test=1 is not a dry run


def test_assign_failed_write_is_the_failure_text(client, world, monkeypatch, unchanged):
    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(services, "did_apply", broken)
    assert assign(client, "alice", str(world.frank_dev.pk), "100") == "Device was not assigned"


def test_a_reservation_changed_under_the_lock_is_judged_on_the_locked_row(
    client, world, monkeypatch
):
    """The checks run on the row as the services lock it, not as it was read before."""
    real = services.did_apply

    def meanwhile(**kwargs):
        Did.objects.filter(number="100").update(status="closed")
        return real(**kwargs)

    monkeypatch.setattr(services, "did_apply", meanwhile)
    assert assign(client, "alice", str(world.frank_dev.pk), "100") == "DID is not free"


# --- did_device_unassign -------------------------------------------------------------


@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_unassign_refuses_users(client, world, unchanged, caller):
    assert unassign(client, caller, "105") == "Access Denied"


@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_unassign_refuses_accountants_without_write(client, world, unchanged, caller):
    assert unassign(client, caller, "105") == "You are not authorized to manage DIDs"


@pytest.mark.parametrize("number", ["", "999", "x105"])
def test_unassign_missing_or_unknown_number(client, world, unchanged, number):
    assert unassign(client, "alice", number) == "DID was not found"


@pytest.mark.parametrize(("caller", "number"), [
    ("alice", "106"), ("wendy", "110"), ("charlie", "105"), ("charlie", "102"),
])  # fmt: skip
def test_unassign_did_outside_the_callers_scope(client, world, unchanged, caller, number):
    # "You are", not "Your are": the legacy texts of the two methods differ.
    assert unassign(client, caller, number) == "You are not authorized to use this DID"


def test_unassign_terminated(client, world, unchanged):
    assert unassign(client, "alice", "111") == "DID is terminated"
    assert unassign(client, "charlie", "113") == "DID is terminated"


@pytest.mark.parametrize(("caller", "number"), [
    ("alice", "100"), ("alice", "103"), ("alice", "109"), ("charlie", "101"), ("charlie", "110"),
])  # fmt: skip
def test_unassign_did_that_is_not_active(client, world, unchanged, caller, number):
    assert unassign(client, caller, number) == "DID is already free"


@pytest.mark.parametrize(("caller", "number"), [("alice", "107"), ("charlie", "108")])
def test_unassign_did_on_a_dial_plan(client, world, unchanged, caller, number):
    assert unassign(client, caller, number) == "DID is assigned to dialplan"


def test_unassign_neighbours_first_failure_wins(client, world, unchanged):
    assert unassign(client, "frank", "999") == "Access Denied"  # 7 / 8
    assert unassign(client, "bob", "999") == "You are not authorized to manage DIDs"  # 8 / 9
    assert unassign(client, "alice", "113") == "You are not authorized to use this DID"  # 10/11


@pytest.mark.parametrize("device_id", [None, "77", "abc", str(2**70)])
def test_unassign_ignores_device_id(client, world, device_id):
    params = {} if device_id is None else {"device_id": device_id}
    assert (
        succeeded(client, "did_device_unassign", "alice", did="105", **params)
        == "Device was unassigned from DID"
    )


def test_admin_unassigns_a_device(client, world):
    response = api(client, "did_device_unassign", "alice", did="105")
    assert extra_of(response) == []
    did = world.did("active_frank")
    assert (did.status, did.user, did.device) == ("free", None, None)
    row = listed(client, world.admin, "105")
    assert (row["did_status"], row["device"], "user_id" in row) == ("free", "", False)
    assert listed(client, world.frank, "105") is None  # no longer frank's DID
    entry = last_change(did)
    assert (entry.by, entry.source, entry.action) == (world.admin, "api", "unassign device")


def test_reseller_unassigns_and_keeps_holding_the_did(client, world):
    assert succeeded(client, "did_unassign_device", "charlie", did="106") == (
        "Device was unassigned from DID"
    )
    did = world.did("active_erin")
    assert (did.status, did.user, did.device, did.reseller) == ("free", None, None, world.charlie)
    assert listed(client, world.charlie, "106")["did_status"] == "free"


def test_unassign_test_1_adds_the_did_id(client, world):
    from dids.api.testing import body_of

    response = api(client, "did_device_unassign", "alice", did="105", test="1")
    assert f"&lt;did_id&gt;{world.active_frank.pk}&lt;/did_id&gt;" in body_of(response).decode()


def test_unassign_failed_write_is_the_failure_text(client, world, monkeypatch, unchanged):
    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(services, "did_apply", broken)
    assert unassign(client, "alice", "105") == "Failed to unassign DID"


def test_unassign_an_active_did_with_no_device_is_refused_by_the_lifecycle(
    client, world, unchanged
):
    """A historical state (active, neither device nor dial plan): the lifecycle has no
    "unassign device" for it, so the method answers its failure text."""
    Did.objects.filter(number="105").update(device=None)
    before = state()
    assert unassign(client, "alice", "105") == "Failed to unassign DID"
    assert state() == before
    Did.objects.filter(number="105").update(device=world.frank_dev)
