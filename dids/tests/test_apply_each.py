"""dids_apply_each: did_apply for a batch of DIDs, each its own change, in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from dids import services
from dids.lifecycle import TRANSITIONS
from dids.models import Did, DidHistory
from dids.services import DidActionRefused, DidChange, Source
from dids.tests.test_lifecycle import STATES, World
from dids.tests.test_preview import preview_or_refusal, untimed
from portal.testing.factories import DidFactory


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


def apply_each(changes, actor):
    return services.dids_apply_each(changes, actor=actor, source=Source.IMPORT, address="::1")


@pytest.mark.parametrize("as_reseller", [False, True])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a != "delete"])
def test_each_change_is_what_did_apply_does(
    world, portal_admin, reseller, as_reseller, state, action
):
    actor = reseller if as_reseller else portal_admin
    did = world.did(state, held=as_reseller)
    target = next(iter(world.target(action, did).values()), None)
    manageable = Did.objects.manageable_by(actor).filter(pk=did.pk).first()
    if manageable is None:
        pytest.skip("not a DID the actor may manage")
    fields = {"language": "lt"}
    preview = preview_or_refusal(
        manageable, action=action, actor=actor, target=target, fields=fields
    )
    before = model_to_dict(Did.objects.get(pk=did.pk))

    [result] = apply_each([DidChange(did.pk, action, target, fields)], actor)

    if isinstance(preview, DidActionRefused):
        assert (result.code, result.message) == (preview.code, preview.message)
        assert model_to_dict(Did.objects.get(pk=did.pk)) == before
        assert not DidHistory.objects.exists()
        return
    assert result is None
    entry = DidHistory.objects.get()
    assert (entry.action, entry.source, entry.by, entry.address) == (
        TRANSITIONS[action].name,
        "import",
        actor,
        "::1",
    )
    assert untimed(entry.changes) == untimed(preview.changes)
    assert untimed(model_to_dict(Did.objects.get(pk=did.pk))) == untimed(model_to_dict(preview.did))


def test_a_refused_change_leaves_its_did_and_the_others_go_on(world, portal_admin):
    free = DidFactory(number="37060000001")
    terminated = DidFactory(number="37060000002", status="terminated")
    same = DidFactory(number="37060000003", language="en")
    results = apply_each(
        [
            DidChange(free.pk, "terminate", fields={"comment": "gone"}),
            DidChange(terminated.pk, "close"),
            DidChange(same.pk, None, fields={"language": "en"}),
            DidChange(999_999, None, fields={"language": "en"}),
            DidChange(free.pk, None, fields={"tone_zone": "xx"}),
        ],
        portal_admin,
    )
    assert results[0] is None
    assert results[1].message.startswith("DID 37060000002 is terminated: only ")
    assert results[2] is None  # nothing to change: no history
    assert results[3].code == "not_found"
    assert results[4].message == "Tone zone 'xx' is not one of the known zones."
    free.refresh_from_db()
    assert (free.status, free.comment, free.tone_zone) == ("terminated", "gone", "")
    assert list(DidHistory.objects.values_list("did__number", "action")) == [
        ("37060000001", "terminate")
    ]


def test_a_precheck_refuses_and_an_expired_did_is_released_first(world, portal_admin):
    closed = DidFactory(
        number="37060000001",
        status="closed",
        user=world.sys_user,
        device=world.sys_device,
        reserved_for_user_till=timezone.now() - timedelta(days=1),
    )
    seen = []

    def precheck(did):
        seen.append(did.status)
        raise DidActionRefused("stale", "changed")

    [result] = apply_each([DidChange(closed.pk, "terminate", precheck=precheck)], portal_admin)
    assert (seen, result.message) == (["free"], "changed")
    closed.refresh_from_db()
    assert closed.status == "free"  # the release is the system's, whatever the change
    assert list(DidHistory.objects.values_list("action", "source")) == [("release", "system")]


def test_deleting_is_not_offered(world, portal_admin):
    did = DidFactory(status="terminated")
    [result] = apply_each([DidChange(did.pk, "delete")], portal_admin)
    assert result.code == "not_permitted"
    assert Did.objects.filter(pk=did.pk).exists()


def test_a_did_changed_twice_in_a_batch_gets_both_in_order(world, portal_admin):
    did = DidFactory(number="37060000001")
    results = apply_each(
        [
            DidChange(did.pk, None, fields={"language": "en"}),
            DidChange(did.pk, "terminate", fields={"language": "lt"}),
        ],
        portal_admin,
    )
    assert results == [None, None]
    did.refresh_from_db()
    assert (did.status, did.language) == ("terminated", "lt")
    assert [e.changes for e in DidHistory.objects.order_by("pk")] == [
        {"language": ["", "en"]},
        {"status": ["free", "terminated"], "language": ["en", "lt"]},
    ]
