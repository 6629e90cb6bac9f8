"""did_details_update (did_methods.md §11): every row of its check table, the first failure
winning between neighbours, all or nothing, and the effects seen through dids_get and
the history."""

import pytest
from django.db import DatabaseError

from dids import services
from dids.models import Did, DidHistory

from .conftest import last_change, listed, refused, state, succeeded

OK = "DID details successfully updated"
LONG_TEXT = "x" * 65536


def update(client, caller, did_id, **params):
    return refused(client, "did_details_update", caller, did_id=did_id, **params)


def updated(client, caller, did_id, **params):
    return succeeded(client, "did_details_update", caller, did_id=did_id, **params)


@pytest.fixture
def unchanged():
    before = state()
    yield
    assert state() == before


def pk(world, name) -> str:
    return str(world.dids[name].pk)


def uid(world, name) -> str:
    return str(world.accounts[name].pk)


# --- 7-9 -------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_users_are_refused(client, world, unchanged, caller):
    assert update(client, caller, pk(world, "reserved_frank"), call_limit="1") == "Access Denied"


@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_accountants_without_write_are_refused(client, world, unchanged, caller):
    assert update(client, caller, pk(world, "free"), call_limit="1") == (
        "You are not authorized to use this functionality"
    )


@pytest.mark.parametrize("value", ["", "abc", "7abc", "0", "-1", "1.0", "9" * 25, "99999"])
def test_missing_malformed_or_unknown_did_id(client, world, unchanged, value):
    assert update(client, "alice", value, call_limit="1") == "DID was not found"


@pytest.mark.parametrize("name", ["free", "free_held_dave", "active_frank"])
def test_a_did_the_reseller_does_not_hold_is_not_found(client, world, unchanged, name):
    assert update(client, "charlie", pk(world, name), call_limit="1") == "DID was not found"


# --- 10. User was not found -------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "value"),
    [
        ("alice", "abc"),
        ("alice", "0"),
        ("alice", "-2"),
        ("alice", "99999"),
        ("alice", "gus"),  # disabled
        ("charlie", "frank"),  # not its user
        ("charlie", "dora"),  # another reseller's user
        ("charlie", "dave"),  # a reseller is never a reseller's target
        ("charlie", "charlie"),
        ("charlie", "alice"),
        ("charlie", "ghost"),  # its user, but disabled
    ],
)
def test_an_invalid_target_is_user_not_found(client, world, unchanged, caller, value):
    target = uid(world, value) if value in world.accounts else value
    assert update(client, caller, pk(world, "free_held"), did_user_id=target) == (
        "User was not found"
    )


# --- 11. DID is terminated --------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "did", "target"),
    [
        ("alice", "terminated", "frank"),
        ("alice", "terminated", "charlie"),  # hand to a reseller
        ("alice", "terminated_held", "erin"),
        ("charlie", "terminated_held", "erin"),
    ],
)
def test_a_target_on_a_terminated_did(client, world, unchanged, caller, did, target):
    assert update(client, caller, pk(world, did), did_user_id=uid(world, target)) == (
        "DID is terminated"
    )


# --- 12. DID is already assigned ----------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "did", "target"),
    [
        ("alice", "active_frank", "erin"),  # active: no active -> reserved
        ("alice", "reserved_frank", "writer"),  # reserved for someone else
        ("alice", "closed_frank", "frank"),  # closed, even for its own user
        ("alice", "active_plan", "frank"),
        ("alice", "free_held", "frank"),  # held: only the holder's users
        ("alice", "reserved_erin", "frank"),
        ("alice", "free_held", "dave"),  # held by another reseller
        ("alice", "reserved_frank", "charlie"),  # only a free, bare, unheld DID is handed on
        ("alice", "active_plan", "charlie"),
        ("charlie", "active_plan_held", "erin"),
        ("charlie", "closed_erin", "erin"),
    ],
)
def test_a_did_that_cannot_take_the_target(client, world, unchanged, caller, did, target):
    assert update(client, caller, pk(world, did), did_user_id=uid(world, target)) == (
        "DID is already assigned"
    )


@pytest.mark.parametrize(
    ("caller", "did", "target"),
    [
        ("alice", "reserved_frank", "frank"),
        ("alice", "active_frank", "frank"),
        ("alice", "free_held", "charlie"),
        ("charlie", "active_erin", "erin"),
        ("charlie", "reserved_erin", "erin"),
    ],
)
def test_a_target_the_did_already_has_changes_nothing(
    client, world, unchanged, caller, did, target
):
    assert updated(client, caller, pk(world, did), did_user_id=uid(world, target)) == OK


# --- 13-24 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "params", "text"),
    [
        *[
            ("alice", {"call_limit": value}, "Call limit is incorrect format")
            for value in ("abc", "-1", "1.5", "2147483648", " 5", "1e3")
        ],
        ("charlie", {"grace_time": "5"}, "Invalid grace_time: not allowed for resellers"),
        *[
            ("alice", {"grace_time": value},
             "Invalid grace_time: expected a whole number from 0 to 2147483647")
            for value in ("x", "-5", "2147483648")
        ],
        *[
            ("alice", {"language": value},
             "Invalid language: expected one line of text of at most 50 characters")
            for value in ("l" * 51, "en\nfr", "en\x7f")
        ],
        *[
            ("alice", {"did_provider_id": value}, "Provider was not found")
            for value in ("abc", "0", "99999")
        ],
        ("alice", {"did_provider_id": "charlies"}, "Your are not authorized to use this Provider"),
        ("alice", {"did_provider_id": "daves"}, "Your are not authorized to use this Provider"),
        ("charlie", {"did_provider_id": "sys"}, "Your are not authorized to use this Provider"),
        ("charlie", {"did_provider_id": "daves"}, "Your are not authorized to use this Provider"),
        ("charlie", {"comment": "x"}, "Invalid comment: not allowed for resellers"),
        ("alice", {"comment": LONG_TEXT},
         "Invalid comment: expected text of at most 65535 characters"),
        ("charlie", {"reseller_comment": LONG_TEXT},
         "Invalid reseller_comment: expected text of at most 65535 characters"),
        ("alice", {"custom_sip_header": "a\r\nb"},
         "Invalid custom_sip_header: expected one line of text of at most 255 characters"),
        ("alice", {"custom_sip_header": "h" * 256},
         "Invalid custom_sip_header: expected one line of text of at most 255 characters"),
        ("alice", {"active_from": "1700000000"}, "Invalid active_from: not supported"),
        ("charlie", {"active_till": "1700000000"}, "Invalid active_till: not supported"),
    ],
)  # fmt: skip
def test_bad_values(client, world, unchanged, caller, params, text):
    params = {
        name: str(world.providers[value].pk) if value in world.providers else value
        for name, value in params.items()
    }
    did = "free_held" if caller == "charlie" else "free"
    assert update(client, caller, pk(world, did), **params) == text


def test_a_non_pro_reseller_may_set_no_provider(client, world, unchanged):
    assert update(
        client, "dave", pk(world, "free_held_dave"), did_provider_id=str(world.daves.pk)
    ) == ("Your are not authorized to use this Provider")


def test_the_operator_may_set_the_holders_provider(client, world):
    assert (
        updated(client, "alice", pk(world, "free_held"), did_provider_id=str(world.charlies.pk))
        == OK
    )
    assert world.did("free_held").provider == world.charlies


def test_reseller_pro_sets_its_own_provider(client, world):
    assert (
        updated(client, "charlie", pk(world, "free_held"), did_provider_id=str(world.charlies.pk))
        == OK
    )
    assert world.did("free_held").provider == world.charlies


def test_empty_active_from_and_till_are_absent(client, world):
    assert updated(client, "alice", pk(world, "free"), active_from="", active_till="") == OK


def test_resellers_empty_comment_is_ignored(client, world, unchanged):
    assert updated(client, "charlie", pk(world, "free_held_2"), comment="") == OK
    assert world.did("free_held_2").comment == "op note"


# --- First failure wins ---------------------------------------------------------------


def test_neighbours_first_failure_wins(client, world, unchanged):
    free, held = pk(world, "free"), pk(world, "free_held")
    assert update(client, "frank", "", call_limit="x") == "Access Denied"  # 7 / 8
    assert update(client, "bob", "") == "You are not authorized to use this functionality"  # 8/9
    assert update(client, "alice", "99999", did_user_id="abc") == "DID was not found"  # 9 / 10
    assert update(client, "alice", pk(world, "terminated"), did_user_id="abc") == (  # 10 / 11
        "User was not found"
    )
    assert update(  # 11 / 13
        client, "alice", pk(world, "terminated"), did_user_id=uid(world, "frank"), call_limit="x"
    ) == ("DID is terminated")
    assert update(  # 12 / 13
        client, "alice", pk(world, "active_frank"), did_user_id=uid(world, "erin"), call_limit="x"
    ) == ("DID is already assigned")
    assert update(client, "charlie", held, call_limit="x", grace_time="5") == (  # 13 / 14
        "Call limit is incorrect format"
    )
    assert update(client, "charlie", held, grace_time="x") == (  # 14 / 15
        "Invalid grace_time: not allowed for resellers"
    )
    assert update(client, "alice", free, grace_time="x", language="l" * 51) == (  # 15 / 16
        "Invalid grace_time: expected a whole number from 0 to 2147483647"
    )
    assert update(client, "alice", free, language="l" * 51, did_provider_id="x") == (  # 16 / 17
        "Invalid language: expected one line of text of at most 50 characters"
    )
    assert update(  # 18 / 19
        client, "charlie", held, did_provider_id=str(world.sys.pk), comment="x"
    ) == ("Your are not authorized to use this Provider")
    assert update(client, "charlie", held, comment=LONG_TEXT) == (  # 19 / 20
        "Invalid comment: not allowed for resellers"
    )
    assert update(client, "alice", free, comment=LONG_TEXT, reseller_comment=LONG_TEXT) == (
        "Invalid comment: expected text of at most 65535 characters"  # 20 / 21
    )
    assert update(  # 21 / 22
        client, "alice", free, reseller_comment=LONG_TEXT, custom_sip_header="a\nb"
    ) == ("Invalid reseller_comment: expected text of at most 65535 characters")
    assert update(client, "alice", free, custom_sip_header="a\nb", active_from="1") == (  # 22/23
        "Invalid custom_sip_header: expected one line of text of at most 255 characters"
    )
    assert update(client, "alice", free, active_from="1", active_till="1") == (  # 23 / 24
        "Invalid active_from: not supported"
    )


# --- All or nothing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"call_limit": "abc"},
        {"grace_time": "-1"},
        {"language": "x" * 51},
        {"did_provider_id": "99999"},
        {"comment": LONG_TEXT},
        {"custom_sip_header": "a\nb"},
        {"active_till": "1"},
    ],
)
def test_one_bad_value_changes_nothing_not_even_the_freeing(client, world, unchanged, bad):
    good = {
        "did_user_id": "-1",
        "call_limit": "3",
        "grace_time": "7",
        "language": "fr",
        "comment": "changed",
        "reseller_comment": "changed",
        "custom_sip_header": "X-Ok: 1",
    }
    # E14's situation: the legacy system freed the DID and then refused the call limit.
    assert update(client, "alice", pk(world, "reserved_frank"), **{**good, **bad}) is not None
    assert world.did("reserved_frank").status == "reserved"


def test_a_failed_write_is_the_failure_text(client, world, unchanged, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(services, "did_apply", broken)
    assert update(client, "alice", pk(world, "free"), call_limit="1") == "DID was not updated"


# --- Success ----------------------------------------------------------------------------


def test_reserve_and_details_in_one_entry(client, world):
    assert (
        updated(
            client,
            "alice",
            pk(world, "free_held_2"),
            did_user_id=uid(world, "erin"),
            call_limit="2",
            grace_time="30",
            language="lt",
            did_provider_id=str(world.charlies.pk),
            comment="",
            reseller_comment="for erin <vip>",
            custom_sip_header="X-Tier: gold",
        )
        == OK
    )
    did = world.did("free_held_2")
    assert (did.status, did.user, did.reseller) == ("reserved", world.erin, world.charlie)
    assert (did.call_limit, did.grace_time, did.language, did.provider) == (
        2,
        30,
        "lt",
        world.charlies,
    )
    assert (did.comment, did.reseller_comment, did.custom_sip_header) == (
        "",
        "for erin <vip>",
        "X-Tier: gold",
    )
    (entry,) = DidHistory.objects.filter(did=did)
    assert (entry.by, entry.source, entry.action) == (world.admin, "api", "reserve for user")
    assert set(entry.changes) == {
        "status",
        "user",
        "call_limit",
        "grace_time",
        "language",
        "provider",
        "comment",
        "reseller_comment",
        "custom_sip_header",
    }
    row = listed(client, world.charlie, "114")
    assert (row["did_status"], row["simultaneous_call_limit"], row["comment"]) == (
        "reserved",
        "2",
        "for erin <vip>",
    )


def test_only_did_id_changes_nothing_and_writes_no_history(client, world, unchanged):
    assert updated(client, "alice", pk(world, "free")) == OK


def test_the_same_values_again_write_no_history(client, world):
    updated(client, "alice", pk(world, "free"), call_limit="4")
    count = DidHistory.objects.count()
    at = world.did("free").updated_at
    assert updated(client, "alice", pk(world, "free"), call_limit="4") == OK
    assert DidHistory.objects.count() == count
    assert world.did("free").updated_at == at


def test_edit_only_is_recorded_as_an_edit(client, world):
    assert updated(client, "wendy", pk(world, "active_frank"), call_limit="9") == OK
    entry = last_change(world.did("active_frank"))
    assert (entry.by, entry.action, entry.changes) == (world.writer, "edit", {"call_limit": [0, 9]})
    assert listed(client, world.admin, "105")["simultaneous_call_limit"] == "9"


def test_empty_comment_clears_it(client, world):
    assert updated(client, "alice", pk(world, "free_held_2"), comment="", reseller_comment="") == OK
    did = world.did("free_held_2")
    assert (did.comment, did.reseller_comment) == ("", "")


def test_empty_values_of_the_other_parameters_change_nothing(client, world, unchanged):
    assert (
        updated(client, "alice", pk(world, "free"), call_limit="", language="", grace_time="") == OK
    )


def test_hand_to_a_reseller(client, world):
    assert updated(client, "alice", pk(world, "free"), did_user_id=uid(world, "charlie")) == OK
    did = world.did("free")
    assert (did.status, did.reseller, did.user) == ("free", world.charlie, None)
    assert listed(client, world.charlie, "100")["did_status"] == "free"
    assert last_change(did).action == "hand to reseller"


def test_operator_reserves_an_unheld_did_for_a_resellers_user(client, world):
    assert updated(client, "alice", pk(world, "free"), did_user_id=uid(world, "erin")) == OK
    did = world.did("free")
    assert (did.status, did.user, did.reseller) == ("reserved", world.erin, None)


@pytest.mark.parametrize("target", ["writer", "admin"])
def test_an_accountant_or_admin_can_be_a_target(client, world, target):
    assert updated(client, "alice", pk(world, "free"), did_user_id=uid(world, target)) == OK
    assert world.did("free").user == world.accounts[target]


def test_reseller_reserves_its_did_for_its_user(client, world):
    assert updated(client, "charlie", pk(world, "free_held"), did_user_id=uid(world, "erin")) == OK
    did = world.did("free_held")
    assert (did.status, did.user, did.reseller) == ("reserved", world.erin, world.charlie)
    assert listed(client, world.erin, "101")["did_status"] == "reserved"


@pytest.mark.parametrize(
    ("caller", "did", "reseller_after", "action"),
    [
        ("alice", "active_frank", None, "make free"),
        ("alice", "active_plan", None, "make free"),
        ("alice", "closed_erin", None, "make free"),  # the operator: it leaves its reseller
        ("charlie", "closed_erin", "charlie", "make free"),  # its reseller keeps holding it
        ("charlie", "active_plan_held", "charlie", "make free"),
        ("alice", "terminated", None, "make free"),
        ("alice", "free_held", None, "take back from reseller"),  # a free DID is taken back
    ],
)
def test_make_free(client, world, caller, did, reseller_after, action):
    assert updated(client, caller, pk(world, did), did_user_id="-1") == OK
    stored = world.did(did)
    assert (stored.status, stored.user, stored.device, stored.dial_plan) == (
        "free",
        None,
        None,
        None,
    )
    assert stored.reserved_for_user_till is None
    assert stored.reseller == (world.accounts[reseller_after] if reseller_after else None)
    entry = last_change(stored)
    assert (entry.by.username, entry.source, entry.action) == (caller, "api", action)


@pytest.mark.parametrize(("caller", "did"), [("alice", "free"), ("charlie", "free_held")])
def test_make_free_of_a_free_did_changes_nothing(client, world, unchanged, caller, did):
    assert updated(client, caller, pk(world, did), did_user_id="-1") == OK


def test_a_reseller_never_takes_a_did_away_from_the_operator(client, world):
    """§5.3: whatever a reseller sends, the DIDs it holds stay its own."""
    held = set(Did.objects.filter(reseller=world.charlie).values_list("pk", flat=True))
    for did in held:
        for params in (
            {"did_user_id": "-1"},
            {"did_user_id": uid(world, "dave")},
            {"comment": "x"},
        ):
            refused(client, "did_details_update", "charlie", did_id=str(did), **params)
    assert set(Did.objects.filter(reseller=world.charlie).values_list("pk", flat=True)) == held
