"""did_preview: what did_apply would do, without writing; the dry run of imports relies on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from dids import services
from dids.lifecycle import TRANSITIONS
from dids.models import Did, DidHistory
from dids.services import DidActionRefused, Source
from dids.tests.test_lifecycle import STATES, World
from portal.testing.factories import DidFactory


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


def table() -> tuple[list[dict], int]:
    return [model_to_dict(d) for d in Did.objects.order_by("pk")], DidHistory.objects.count()


def untimed(values: dict) -> dict:
    """Times that start at "now" (a moment later in did_apply) compared as set or not."""
    out = dict(values)
    for name in ("reserved_for_user_till", "updated_at"):
        if isinstance(out.get(name), list):
            out[name] = [out[name][0], out[name][1] is not None]
        elif name in out:
            out[name] = out[name] is not None
    return out


def preview_or_refusal(did: Did, **kwargs) -> services.Preview | DidActionRefused:
    try:
        return services.did_preview(did, **kwargs)
    except DidActionRefused as refused:
        return refused


@pytest.mark.parametrize("as_reseller", [False, True])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a != "delete"])
def test_preview_says_what_did_apply_then_does(
    world, portal_admin, reseller, as_reseller, state, action
):
    actor = reseller if as_reseller else portal_admin
    did = world.did(state, held=as_reseller)
    target = next(iter(world.target(action, did).values()), None)
    change = {"action": action, "actor": actor, "target": target, "fields": {"language": "lt"}}
    manageable = Did.objects.manageable_by(actor).filter(pk=did.pk).first()
    if manageable is None:
        pytest.skip("a DID the actor may not manage is never previewed")
    before = table()

    preview = preview_or_refusal(manageable, **change)

    assert table() == before  # the preview wrote nothing
    if isinstance(preview, DidActionRefused):
        with pytest.raises(DidActionRefused) as applied:
            services.did_apply(did_id=did.pk, source=Source.GUI, **change)
        assert (applied.value.code, applied.value.message) == (preview.code, preview.message)
        return
    saved = services.did_apply(did_id=did.pk, source=Source.GUI, **change)
    assert untimed(did.history.first().changes) == untimed(preview.changes)
    assert untimed(model_to_dict(preview.did)) == untimed(model_to_dict(saved))


def test_preview_of_an_expired_closed_did_sees_it_released(world, portal_admin):
    did = DidFactory(
        status="closed",
        user=world.sys_user,
        device=world.sys_device,
        reserved_for_user_till=timezone.now() - timedelta(minutes=1),
    )
    preview = services.did_preview(did, action="terminate", actor=portal_admin)
    assert preview.before["status"] == "free"
    assert preview.changes == {"status": ["free", "terminated"]}
    did.refresh_from_db()
    assert did.status == "closed"
    assert not DidHistory.objects.exists()


def test_preview_of_a_field_the_actor_may_not_change_is_refused(world, reseller):
    did = world.did("free_held", held=True)
    with pytest.raises(DidActionRefused) as refused:
        services.did_preview(did, action=None, actor=reseller, fields={"comment": "x"})
    assert refused.value.code == "not_permitted"
