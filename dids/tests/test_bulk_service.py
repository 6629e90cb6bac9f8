"""dids_apply_many: did_apply's very steps on many DIDs, written a chunk at a time.

The reference is did_apply itself: every action from every state, taken one DID at a
time (each in a savepoint that is rolled back), must leave exactly the rows and the
history that the bulk run leaves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditEntry, SystemSettings, User
from dids import services
from dids.lifecycle import TRANSITIONS
from dids.models import Did, DidHistory
from dids.services import (
    NOT_FOUND_REASON,
    UNCHANGED_REASON,
    DidActionRefused,
    Source,
    dids_apply_many,
    skip_reason,
)
from dids.tests.test_lifecycle import STATES, World
from portal.testing.factories import DidFactory, ProviderFactory, UserFactory

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


@pytest.fixture
def frozen(monkeypatch):
    """One `now` for the single and the bulk runs, so that their rows compare equal."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


class Rollback(Exception):
    pass


def table() -> dict[int, dict]:
    return {did.pk: model_to_dict(did) for did in Did.objects.order_by("id")}


def history() -> list[tuple]:
    return sorted(
        (e.did_id, e.action, e.by_id, e.source, e.address, repr(sorted(e.changes.items())))
        for e in DidHistory.objects.all()
    )


def one_by_one(before, dids, action, actor, target=None, fields=None):
    """What did_apply does to each DID alone: (rows, history, changed, skip reasons)."""
    rows, entries, changed, reasons = {}, [], 0, {}
    for did in dids:
        try:
            with transaction.atomic():
                services.did_apply(
                    did_id=did.pk,
                    action=action,
                    actor=actor,
                    source=Source.GUI,
                    address="10.0.0.7",
                    target=target,
                    fields=fields,
                )
                after = table()
                rows[did.pk] = after.get(did.pk)
                entries += [e for e in history() if e[0] == did.pk]
                changed += 1 if rows[did.pk] != before[did.pk] else 0
                raise Rollback
        except Rollback:
            pass
        except DidActionRefused as refused:
            # The bulk run cannot name a DID it could not find: one reason for all.
            reason = NOT_FOUND_REASON if refused.code == "not_found" else skip_reason(refused, did)
            reasons[reason] = reasons.get(reason, 0) + 1
    return rows, entries, changed, reasons


def all_states(world: World, *, held: bool) -> list[Did]:
    return [world.did(state, held=held) for state in STATES for _ in range(2)]


def assert_bulk_matches_single(dids, action, actor, target=None, fields=None, **kwargs):
    before = table()
    rows, entries, changed, reasons = one_by_one(before, dids, action, actor, target, fields)
    assert table() == before  # the reference runs were rolled back

    outcome = dids_apply_many(
        ids=iter([d.pk for d in dids]),
        action=action,
        actor=actor,
        source=Source.GUI,
        address="10.0.0.7",
        target=target,
        fields=fields,
        **kwargs,
    )

    after = table()
    for did in dids:
        expected = rows.get(did.pk, before[did.pk])
        assert after.get(did.pk) == expected, (action, did.status)
    assert sorted(e for e in history()) == sorted(entries)
    unchanged = outcome.skipped.get(UNCHANGED_REASON)
    assert outcome.changed == changed
    assert {r: g.count for r, g in outcome.skipped.items() if r != UNCHANGED_REASON} == reasons
    assert outcome.changed + outcome.skipped_count == len(dids)
    return outcome, unchanged


@pytest.mark.parametrize("actor_name", ["portal_admin", "accountant_writer"])
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_operator_bulk_run_leaves_what_one_by_one_leaves(
    request, world, frozen, actor_name, action
):
    actor = request.getfixturevalue(actor_name)
    dids = all_states(world, held=False) + all_states(world, held=True)
    target = {
        "user": world.sys_user,
        "device": world.sys_device,
        "dial_plan": world.sys_plan,
        "reseller": world.other_reseller,
    }.get(TRANSITIONS[action].needs)
    assert_bulk_matches_single(dids, action, actor, target=target, chunk_size=5)


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_reseller_bulk_run_leaves_what_one_by_one_leaves(world, frozen, action):
    mine = all_states(world, held=True)
    others = [world.did("free", held=False), world.did("active_device", held=False)]
    target = {
        "user": world.res_user,
        "device": world.res_device,
        "dial_plan": world.res_plan,
        "reseller": world.other_reseller,
    }.get(TRANSITIONS[action].needs)
    assert_bulk_matches_single(mine + others, action, world.reseller, target=target, chunk_size=4)


@pytest.mark.parametrize(
    "fields",
    [
        {"language": "lt"},
        {"call_limit": 9},
        {"tone_zone": "it"},
        {"comment": "bulk"},
        {"reseller_comment": "bulk"},
        {"grace_time": 3},
    ],
)
def test_edits_in_bulk_match_one_by_one(portal_admin, world, frozen, fields):
    dids = all_states(world, held=False) + all_states(world, held=True)
    Did.objects.filter(pk=dids[0].pk).update(**fields)  # one has the value already
    _, unchanged = assert_bulk_matches_single(dids, None, portal_admin, fields=fields, chunk_size=3)
    assert unchanged.count == 1
    assert unchanged.examples == [(dids[0].pk, dids[0].number)]


def test_a_reseller_edits_only_its_side_in_bulk(world, frozen):
    dids = [did for did in all_states(world, held=True) if did.reseller_id]
    outcome, _ = assert_bulk_matches_single(dids, None, world.reseller, fields={"comment": "x"})
    assert outcome.changed == 0
    assert list(outcome.skipped) == ["You may not change the comment."]


def test_provider_is_checked_per_did_against_its_holder(portal_admin, world, frozen):
    charlie_provider = ProviderFactory(owner=world.reseller)
    dids = all_states(world, held=False) + all_states(world, held=True)
    outcome, _ = assert_bulk_matches_single(
        dids, None, portal_admin, fields={"provider": charlie_provider}
    )
    held = sum(1 for d in dids if d.reseller_id == world.reseller.pk)
    assert outcome.changed == held
    assert outcome.skipped == {
        f"You may not use the provider {charlie_provider}.": services.Skipped(
            count=len(dids) - held,
            examples=[(d.pk, d.number) for d in dids if d.reseller_id is None][:5],
        )
    }


def test_skip_reasons_group_by_reason_with_the_first_numbers(portal_admin, world):
    terminated = [world.did("terminated", held=False) for _ in range(7)]
    free = [world.did("free", held=False) for _ in range(2)]
    active = world.did("active_device", held=False)

    outcome = dids_apply_many(
        ids=[d.pk for d in [*terminated, *free, active]],
        action="close",
        actor=portal_admin,
        source=Source.GUI,
    )

    assert outcome.changed == 1
    assert {reason: group.count for reason, group in outcome.skipped.items()} == {
        'The DID is terminated: only "make free" or "delete" are possible.': 7,
        'The DID is free: only "reserve for user", "assign device", "assign dial plan", '
        '"hand to reseller" or "terminate" are possible.': 2,
    }
    examples = outcome.skipped[
        'The DID is terminated: only "make free" or "delete" are possible.'
    ].examples
    assert examples == [(d.pk, d.number) for d in terminated[:5]]


def test_every_changed_did_gets_its_history_entry(portal_admin):
    dids = [DidFactory(language="en") for _ in range(25)]

    outcome = dids_apply_many(
        ids=(d.pk for d in dids),
        action=None,
        fields={"language": "lt"},
        actor=portal_admin,
        source=Source.GUI,
        address="192.0.2.4",
        chunk_size=10,
    )

    assert outcome.changed == 25
    entries = DidHistory.objects.filter(did__in=dids)
    assert sorted(e.did_id for e in entries) == sorted(d.pk for d in dids)
    assert {(e.by, e.source, e.address, e.action) for e in entries} == {
        (portal_admin, "gui", "192.0.2.4", "edit")
    }
    assert {repr(e.changes) for e in entries} == {repr({"language": ["en", "lt"]})}
    assert set(Did.objects.values_list("language", flat=True)) == {"lt"}


def test_each_chunk_is_its_own_transaction(portal_admin, monkeypatch):
    dids = [DidFactory() for _ in range(6)]
    real = services._change
    calls = []

    def fail_on_the_fifth(did, *args, **kwargs):
        calls.append(did.pk)
        if len(calls) == 5:
            raise RuntimeError("the database went away")
        return real(did, *args, **kwargs)

    monkeypatch.setattr(services, "_change", fail_on_the_fifth)
    with pytest.raises(RuntimeError):
        dids_apply_many(
            ids=[d.pk for d in dids],
            action=None,
            fields={"language": "lt"},
            actor=portal_admin,
            source=Source.GUI,
            chunk_size=2,
        )

    # The first two chunks were committed; the failing chunk left nothing behind.
    languages = dict(Did.objects.values_list("id", "language"))
    assert [languages[d.pk] for d in dids] == ["lt", "lt", "lt", "lt", "", ""]
    assert DidHistory.objects.count() == 4


@pytest.mark.parametrize("count", [10, 60])
def test_the_number_of_queries_does_not_grow_with_the_dids(
    portal_admin, world, django_assert_num_queries, count
):
    dids = [world.did("active_device", held=bool(n % 2)) for n in range(count)]
    SystemSettings.load()  # the settings row exists (its creation is not the chunk's)
    # A chunk: settings (Days for DID close), lock, one UPDATE, one INSERT of history;
    # plus the savepoint around it.
    with django_assert_num_queries(6):
        outcome = dids_apply_many(
            ids=[d.pk for d in dids], action="close", actor=portal_admin, source=Source.GUI
        )
    assert outcome.changed == count


def test_a_dry_run_counts_the_same_and_writes_nothing(portal_admin, world):
    dids = all_states(world, held=False) + all_states(world, held=True)
    before, entries = table(), history()

    dry = dids_apply_many(
        ids=[d.pk for d in dids],
        action="make_free",
        actor=portal_admin,
        source=Source.GUI,
        dry_run=True,
    )

    assert (table(), history()) == (before, entries)
    real = dids_apply_many(
        ids=[d.pk for d in dids], action="make_free", actor=portal_admin, source=Source.GUI
    )
    assert dry == real
    # reserved, active on a device, on a dial plan, closed, terminated; twice on each side.
    assert real.changed == 20


def test_ids_that_are_gone_or_not_manageable_are_skipped_as_not_found(world):
    mine = world.did("active_device", held=True)
    operators = world.did("active_device", held=False)
    before = model_to_dict(operators)

    outcome = dids_apply_many(
        ids=[mine.pk, operators.pk, 999_999],
        action="close",
        actor=world.reseller,
        source=Source.GUI,
    )

    assert outcome.changed == 1
    assert outcome.skipped == {NOT_FOUND_REASON: services.Skipped(count=2)}
    operators.refresh_from_db()
    assert model_to_dict(operators) == before


def test_an_expired_closed_did_is_released_first_in_bulk(portal_admin, world):
    did = world.did("closed", held=False)
    Did.objects.filter(pk=did.pk).update(reserved_for_user_till=timezone.now() - timedelta(1))

    outcome = dids_apply_many(
        ids=[did.pk],
        action="reserve",
        target=world.sys_user2,
        actor=portal_admin,
        source=Source.GUI,
    )

    assert outcome.changed == 1
    assert [e.action for e in did.history.order_by("id")] == ["release", "reserve for user"]


def test_delete_in_bulk_removes_the_dids_and_history_and_audits_each(portal_admin, world):
    doomed = [world.did("terminated", held=False) for _ in range(3)]
    kept = world.did("free", held=False)
    for did in doomed:
        services.did_edit(did_id=did.pk, fields={"comment": "x"}, actor=portal_admin, source="gui")

    outcome = dids_apply_many(
        ids=[d.pk for d in [*doomed, kept]],
        action="delete",
        actor=portal_admin,
        source=Source.GUI,
        address="10.1.1.1",
        chunk_size=2,
    )

    assert outcome.changed == 3
    assert list(Did.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not DidHistory.objects.filter(did_id__in=[d.pk for d in doomed]).exists()
    audit = sorted(AuditEntry.objects.filter(object_type="DID"), key=lambda e: int(e.object_id))
    assert [(e.actor, e.action, e.object_repr) for e in audit] == [
        (portal_admin, "delete", f"DID {d.number}") for d in sorted(doomed, key=lambda d: d.pk)
    ]
    assert audit[0].changes[-1] == {"field": "Through", "note": "GUI from 10.1.1.1"}
