"""The lifecycle matrix: every action from every state, for every kind of actor.

The expected outcomes are written out here by hand from domain.md §4 (not derived
from dids.lifecycle), so that a wrong row in the table fails a test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditEntry, SystemSettings, User
from dids import services
from dids.lifecycle import TRANSITIONS, actions_for
from dids.models import Did, DidHistory
from dids.services import DidActionRefused, Source
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    UserFactory,
)

# The states a DID can be in, as far as the lifecycle cares.
STATES = (
    "free",
    "free_held",
    "reserved",
    "active_device",
    "active_dial_plan",
    "closed",
    "terminated",
)

# What the operator (admin, accountant with write) may do from each state.
OPERATOR_ALLOWED: dict[str, set[str]] = {
    "free": {"reserve", "assign_device", "assign_dial_plan", "hand_to_reseller", "terminate"},
    "free_held": {"reserve", "assign_device", "assign_dial_plan", "take_back"},
    "reserved": {"assign_device", "make_free"},
    "active_device": {"reassign_device", "unassign_device", "close", "make_free"},
    "active_dial_plan": {"make_free"},
    "closed": {"close_again", "reactivate", "make_free", "terminate"},
    "terminated": {"make_free", "delete"},
}
# A reseller, on the DIDs it holds: never hand, take back, terminate or delete.
RESELLER_ALLOWED: dict[str, set[str]] = {
    "free_held": {"reserve", "assign_device", "assign_dial_plan"},
    "reserved": {"assign_device", "make_free"},
    "active_device": {"reassign_device", "unassign_device", "close", "make_free"},
    "active_dial_plan": {"make_free"},
    "closed": {"close_again", "reactivate", "make_free"},
}
TARGET_STATUS = {
    "reserve": "reserved",
    "assign_device": "active",
    "assign_dial_plan": "active",
    "reassign_device": "active",
    "unassign_device": "free",
    "close": "closed",
    "close_again": "closed",
    "reactivate": "active",
    "make_free": "free",
    "hand_to_reseller": "free",
    "take_back": "free",
    "terminate": "terminated",
    "delete": None,
}


class World:
    """Accounts and things on both sides: the system's and the reseller `charlie`'s."""

    def __init__(self, reseller: User, other_reseller: User) -> None:
        self.reseller = reseller
        self.other_reseller = other_reseller
        self.sys_user = UserFactory(username="frank", role=User.Role.USER)
        self.sys_user2 = UserFactory(username="grace", role=User.Role.USER)
        self.res_user = UserFactory(username="erin", role=User.Role.USER, owner=reseller)
        self.res_user2 = UserFactory(username="ella", role=User.Role.USER, owner=reseller)
        self.other_user = UserFactory(username="olga", role=User.Role.USER, owner=other_reseller)
        self.sys_device = DeviceFactory(user=self.sys_user, name="frank-pbx")
        self.sys_device2 = DeviceFactory(user=self.sys_user, name="frank-2")
        self.res_device = DeviceFactory(user=self.res_user, name="erin-pbx")
        self.res_device2 = DeviceFactory(user=self.res_user, name="erin-2")
        self.other_device = DeviceFactory(user=self.other_user, name="olga-pbx")
        self.sys_plan = DialPlanFactory(name="IVR main", owner=None)
        self.res_plan = DialPlanFactory(name="Charlie IVR", owner=reseller)

    def did(self, state: str, *, held: bool) -> Did:
        reseller = self.reseller if held or state == "free_held" else None
        user = self.res_user if reseller else self.sys_user
        device = self.res_device if reseller else self.sys_device
        plan = self.res_plan if reseller else self.sys_plan
        values: dict = {"reseller": reseller}
        if state in ("free", "free_held"):
            values["status"] = "free"
        elif state == "reserved":
            values.update(status="reserved", user=user)
        elif state == "active_device":
            values.update(status="active", user=user, device=device)
        elif state == "active_dial_plan":
            values.update(status="active", dial_plan=plan)
        elif state == "closed":
            values.update(
                status="closed",
                user=user,
                device=device,
                reserved_for_user_till=timezone.now() + timedelta(days=30),
            )
        elif state == "terminated":
            values["status"] = "terminated"
            values["reseller"] = None
        return DidFactory(**values)

    def target(self, action: str, did: Did) -> dict:
        """A valid target for the action on this DID (what a careful person would pick)."""
        held = did.reseller_id is not None
        needs = TRANSITIONS[action].needs
        if needs == "user":
            return {"user": self.res_user if held else self.sys_user}
        if needs == "device":
            if action == "reassign_device":
                return {"device": self.res_device2 if held else self.sys_device2}
            return {"device": self.res_device if held else self.sys_device}
        if needs == "dial_plan":
            return {"dial_plan": self.res_plan if held else self.sys_plan}
        if needs == "reseller":
            return {"reseller": self.other_reseller}
        return {}


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


def row(did_id: int) -> dict | None:
    did = Did.objects.filter(pk=did_id).first()
    return None if did is None else model_to_dict(did)


def history_count(did_id: int) -> int:
    return DidHistory.objects.filter(did_id=did_id).count()


def act(action: str, did: Did, actor: User, **target) -> Did | None:
    service = getattr(services, f"did_{action}")
    return service(did_id=did.pk, actor=actor, source=Source.GUI, address="127.0.0.1", **target)


def assert_refused(action: str, did: Did, actor: User, code: str | None = None, **target):
    before, history = row(did.pk), history_count(did.pk)
    with pytest.raises(DidActionRefused) as refused:
        act(action, did, actor, **target)
    assert row(did.pk) == before
    assert history_count(did.pk) == history
    if code is not None:
        assert refused.value.code == code, refused.value.message
    return refused.value


def assert_applied(action: str, did: Did, actor: User, **target) -> None:
    history = history_count(did.pk)
    act(action, did, actor, **target)
    status = TARGET_STATUS[action]
    if status is None:
        assert row(did.pk) is None
        assert history_count(did.pk) == 0
        return
    did.refresh_from_db()
    assert did.status == status
    assert history_count(did.pk) == history + 1
    entry = did.history.first()
    assert (entry.by, entry.source, entry.address, entry.action) == (
        actor,
        Source.GUI,
        "127.0.0.1",
        TRANSITIONS[action].name,
    )


def operator(request, name: str) -> User:
    return request.getfixturevalue(name)


@pytest.mark.parametrize("actor_name", ["portal_admin", "accountant_writer"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_operator_may_take_exactly_the_actions_of_domain_lifecycle(
    request, world, actor_name, state, action
):
    actor = operator(request, actor_name)
    did = world.did(state, held=False)
    target = world.target(action, did)
    if action in OPERATOR_ALLOWED[state]:
        assert_applied(action, did, actor, **target)
    else:
        assert_refused(action, did, actor, **target)


@pytest.mark.parametrize("state", [s for s in STATES if s not in ("free", "terminated")])
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_reseller_may_take_its_actions_on_its_own_dids(world, state, action):
    did = world.did(state, held=True)
    target = world.target(action, did)
    if action in RESELLER_ALLOWED.get(state, set()):
        assert_applied(action, did, world.reseller, **target)
    else:
        assert_refused(action, did, world.reseller, **target)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_reseller_cannot_touch_other_resellers_dids(world, state, action):
    did = world.did(state, held=state != "terminated")  # held by charlie
    target = world.target(action, did)
    assert_refused(action, did, world.other_reseller, code="not_found", **target)


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_reseller_cannot_touch_the_operators_dids(world, action):
    did = world.did("free", held=False)
    assert_refused(action, did, world.reseller, code="not_found", **world.target(action, did))


@pytest.mark.parametrize("actor_name", ["accountant", "accountant_without_right", "end_user"])
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_readers_and_users_change_nothing(request, world, actor_name, action):
    actor = operator(request, actor_name)
    for state in STATES:
        did = world.did(state, held=False)
        assert_refused(action, did, actor, code="not_found", **world.target(action, did))


def test_a_user_cannot_change_its_own_did(world):
    did = world.did("active_device", held=False)
    assert_refused("close", did, world.sys_user, code="not_found")


def test_reseller_cannot_reserve_for_another_resellers_user(world):
    did = world.did("free_held", held=True)
    error = assert_refused("reserve", did, world.reseller, code="target", user=world.other_user)
    assert "is not a user of the DID's reseller" in error.message


def test_reseller_cannot_put_its_did_on_another_resellers_device(world):
    did = world.did("free_held", held=True)
    assert_refused("assign_device", did, world.reseller, code="target", device=world.other_device)


def test_reseller_cannot_use_the_operators_device_or_dial_plan(world):
    did = world.did("free_held", held=True)
    assert_refused("assign_device", did, world.reseller, code="target", device=world.sys_device)
    assert_refused("assign_dial_plan", did, world.reseller, code="target", dial_plan=world.sys_plan)


def test_operator_cannot_put_a_system_did_on_a_resellers_users_device(portal_admin, world):
    did = world.did("free", held=False)
    assert_refused("assign_device", did, portal_admin, code="target", device=world.res_device)


def test_operator_puts_a_resellers_did_only_towards_that_resellers_users(portal_admin, world):
    did = world.did("free_held", held=True)
    assert_refused("reserve", did, portal_admin, code="target", user=world.sys_user)
    assert_refused("assign_device", did, portal_admin, code="target", device=world.sys_device)


def test_a_reserved_did_goes_only_to_a_device_of_its_user(portal_admin, world):
    did = world.did("reserved", held=False)  # reserved for frank
    other = DeviceFactory(user=world.sys_user2)
    error = assert_refused("assign_device", did, portal_admin, code="target", device=other)
    assert "reserved for another user" in error.message


def test_no_device_of_a_disabled_account(portal_admin, world):
    world.sys_user.is_active = False
    world.sys_user.save()
    did = world.did("free", held=False)
    assert_refused("assign_device", did, portal_admin, code="target", device=world.sys_device)


def test_a_refusal_says_why_and_what_is_possible(portal_admin, world):
    did = world.did("terminated", held=False)
    error = assert_refused("close", did, portal_admin, code="terminated")
    assert error.message == (
        f'DID {did.number} is terminated: only "make free" or "delete" are possible.'
    )


def test_terminating_a_free_did_a_reseller_holds_needs_taking_it_back_first(portal_admin, world):
    did = world.did("free_held", held=True)
    error = assert_refused("terminate", did, portal_admin, code="condition")
    assert "take it back first" in error.message


# --- Effects ----------------------------------------------------------------------


def test_assigning_a_device_to_a_free_did_makes_its_user_the_devices_user(portal_admin, world):
    did = world.did("free_held", held=True)
    act("assign_device", did, portal_admin, device=world.res_device)
    did.refresh_from_db()
    assert (did.status, did.user, did.device, did.reseller) == (
        "active",
        world.res_user,
        world.res_device,
        world.reseller,
    )


def test_close_reserves_the_did_for_days_for_did_close(portal_admin, world):
    settings = SystemSettings.load()
    settings.days_for_did_close = 30
    settings.save()
    did = world.did("active_device", held=False)
    before = timezone.now()
    act("close", did, portal_admin)
    did.refresh_from_db()
    assert did.status == "closed"
    assert did.user == world.sys_user
    assert did.device == world.sys_device
    assert before + timedelta(days=30) <= did.reserved_for_user_till
    assert did.reserved_for_user_till <= timezone.now() + timedelta(days=30)


def test_close_again_restarts_the_period(portal_admin, world):
    did = world.did("closed", held=False)  # 30 days left
    act("close_again", did, portal_admin)
    did.refresh_from_db()
    assert did.reserved_for_user_till > timezone.now() + timedelta(days=89)


def test_make_free_by_the_operator_leaves_the_reseller(portal_admin, world):
    did = world.did("reserved", held=True)
    act("make_free", did, portal_admin)
    did.refresh_from_db()
    assert (did.status, did.user, did.reseller) == ("free", None, None)


def test_make_free_by_the_reseller_keeps_its_hold(world):
    did = world.did("closed", held=True)
    act("make_free", did, world.reseller)
    did.refresh_from_db()
    assert (did.status, did.user, did.device, did.reserved_for_user_till, did.reseller) == (
        "free",
        None,
        None,
        None,
        world.reseller,
    )


def test_unassigning_the_device_keeps_the_resellers_hold(world):
    did = world.did("active_device", held=True)
    act("unassign_device", did, world.reseller)
    did.refresh_from_db()
    assert (did.status, did.user, did.device, did.reseller) == ("free", None, None, world.reseller)


def test_terminate_clears_everything_but_the_number_and_details(portal_admin, world):
    did = world.did("closed", held=True)
    did.comment = "kept"
    did.save()
    act("terminate", did, portal_admin)
    did.refresh_from_db()
    assert (did.status, did.user, did.device, did.reseller, did.reserved_for_user_till) == (
        "terminated",
        None,
        None,
        None,
        None,
    )
    assert did.comment == "kept"


def test_delete_removes_the_did_and_its_history_and_audits_it(portal_admin, world):
    did = world.did("terminated", held=False)
    act("make_free", did, portal_admin)
    act("terminate", did, portal_admin)
    act("delete", did, portal_admin)
    assert not Did.objects.filter(pk=did.pk).exists()
    assert not DidHistory.objects.filter(did_id=did.pk).exists()
    entry = AuditEntry.objects.get(object_type="DID")
    assert (entry.actor, entry.action, entry.object_id, entry.object_repr) == (
        portal_admin,
        "delete",
        str(did.pk),
        f"DID {did.number}",
    )


def test_history_records_old_and_new_as_names(portal_admin, world):
    did = world.did("free", held=False)
    act("reserve", did, portal_admin, user=world.sys_user)
    entry = did.history.first()
    assert entry.changes == {
        "status": ["free", "reserved"],
        "user": [None, f"{world.sys_user.display_name} (#{world.sys_user.pk})"],
    }


def test_an_expired_closed_did_is_released_before_the_action(portal_admin, world):
    did = world.did("closed", held=False)
    Did.objects.filter(pk=did.pk).update(reserved_for_user_till=timezone.now() - timedelta(1))
    # It is free now: closing it again is no longer possible, and the release is recorded.
    with pytest.raises(DidActionRefused):
        act("close_again", did, portal_admin)
    act("reserve", did, portal_admin, user=world.sys_user2)
    assert [e.action for e in did.history.order_by("id")] == ["release", "reserve for user"]


# --- Editing ----------------------------------------------------------------------


def test_operator_edits_details(portal_admin, world):
    did = world.did("free", held=False)
    services.did_edit(
        did_id=did.pk,
        fields={"language": "lt", "call_limit": 4, "tone_zone": "lt", "comment": "x"},
        actor=portal_admin,
        source=Source.GUI,
    )
    did.refresh_from_db()
    assert (did.language, did.call_limit, did.tone_zone, did.comment) == ("lt", 4, "lt", "x")
    assert did.history.first().action == "edit"


def test_an_edit_that_changes_nothing_writes_nothing(portal_admin, world):
    did = world.did("free", held=False)
    updated = did.updated_at
    services.did_edit(
        did_id=did.pk, fields={"language": did.language}, actor=portal_admin, source=Source.GUI
    )
    did.refresh_from_db()
    assert did.updated_at == updated
    assert history_count(did.pk) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"comment": "operator's"}, "comment"),
        ({"grace_time": 5}, "grace_time"),
        ({"ai_agent_compatible": True}, "ai_agent_compatible"),
    ],
)
def test_reseller_may_not_edit_the_operators_fields(world, fields, field):
    did = world.did("free_held", held=True)
    before = row(did.pk)
    with pytest.raises(DidActionRefused) as refused:
        services.did_edit(did_id=did.pk, fields=fields, actor=world.reseller, source=Source.GUI)
    assert (refused.value.code, refused.value.field) == ("not_permitted", field)
    assert row(did.pk) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"language": "en\x00"}, "language"),
        ({"language": "two\nlines"}, "language"),
        ({"language": "x" * 51}, "language"),
        ({"call_limit": -1}, "call_limit"),
        ({"call_limit": 2**31}, "call_limit"),
        ({"tone_zone": "atlantis"}, "tone_zone"),
        ({"comment": "\ud800"}, "comment"),
        ({"custom_sip_header": "X-A: 1\r\nX-B: 2"}, "custom_sip_header"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(portal_admin, world, fields, field):
    did = world.did("free", held=False)
    before = row(did.pk)
    with pytest.raises(DidActionRefused) as refused:
        services.did_edit(
            did_id=did.pk, fields={"call_limit": 3, **fields}, actor=portal_admin, source="gui"
        )
    assert (refused.value.code, refused.value.field) == ("invalid", field)
    assert row(did.pk) == before


def test_a_stale_edit_is_refused_with_who_changed_it(portal_admin, other_admin, world):
    did = world.did("free", held=False)
    seen = did.updated_at
    services.did_edit(did_id=did.pk, fields={"language": "de"}, actor=other_admin, source="gui")
    with pytest.raises(DidActionRefused) as refused:
        services.did_edit(
            did_id=did.pk,
            fields={"language": "fr"},
            actor=portal_admin,
            source="gui",
            expected_updated_at=seen,
        )
    assert refused.value.code == "stale"
    assert f"was changed by {other_admin.display_name} at " in refused.value.message
    did.refresh_from_db()
    assert did.language == "de"


def test_provider_rules(portal_admin, world):
    from portal.testing.factories import ProviderFactory

    system_provider = ProviderFactory(owner=None)
    charlie_provider = ProviderFactory(owner=world.reseller)
    dave_provider = ProviderFactory(owner=world.other_reseller)
    held = world.did("free_held", held=True)
    # The operator: the system's providers or those of the DID's holder.
    services.did_edit(
        did_id=held.pk, fields={"provider": charlie_provider}, actor=portal_admin, source="gui"
    )
    with pytest.raises(DidActionRefused):
        services.did_edit(
            did_id=held.pk, fields={"provider": dave_provider}, actor=portal_admin, source="gui"
        )
    # A plain reseller sets no provider; a Reseller PRO only its own.
    with pytest.raises(DidActionRefused):
        services.did_edit(
            did_id=held.pk, fields={"provider": system_provider}, actor=world.reseller, source="gui"
        )
    world.reseller.own_providers = True
    world.reseller.save()
    with pytest.raises(DidActionRefused):
        services.did_edit(
            did_id=held.pk, fields={"provider": system_provider}, actor=world.reseller, source="gui"
        )
    services.did_edit(
        did_id=held.pk, fields={"provider": system_provider}, actor=portal_admin, source="gui"
    )
    services.did_edit(
        did_id=held.pk, fields={"provider": charlie_provider}, actor=world.reseller, source="gui"
    )
    held.refresh_from_db()
    assert held.provider == charlie_provider
    assert [e.by for e in held.history.order_by("id")] == [
        portal_admin,
        portal_admin,
        world.reseller,
    ]


# --- The pages' offer ---------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_the_page_offers_exactly_what_would_succeed_for_the_operator(portal_admin, world, state):
    did = world.did(state, held=False)
    assert {t.key for t in actions_for(did, portal_admin)} == OPERATOR_ALLOWED[state]


@pytest.mark.parametrize("state", list(RESELLER_ALLOWED))
def test_the_page_offers_exactly_what_would_succeed_for_the_reseller(world, state):
    did = world.did(state, held=True)
    assert {t.key for t in actions_for(did, world.reseller)} == RESELLER_ALLOWED[state]


def test_the_page_offers_nothing_to_readers(accountant, end_user, world):
    did = world.did("active_device", held=False)
    assert actions_for(did, accountant) == []
    assert actions_for(did, end_user) == []


def test_a_refusal_spells_the_fields_name_as_the_page_does(portal_admin, world):
    did = world.did("free", held=False)
    with pytest.raises(DidActionRefused) as refused:
        services.did_edit(
            did_id=did.pk,
            fields={"callerid_name_prefix": "a\nb"},
            actor=portal_admin,
            source=Source.GUI,
        )
    assert refused.value.message == (
        "CallerID name prefix must be one line of text without control characters."
    )
