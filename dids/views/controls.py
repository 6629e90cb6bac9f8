"""What the DID page offers its viewer to change: the edit form (the fields
`services.editable_fields` allows) and one panel per action that `lifecycle.actions_for`
says would succeed from the DID's current state. The read part (dids.views.detail)
adds this to its context; the POST views (dids.views.actions) bring back their bound
forms through `bound` when a change was refused, so the viewer's input stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import SystemSettings, User

from ..lifecycle import Transition, actions_for
from ..models import Did
from ..services import editable_fields, target_problem, target_queryset
from .did_forms import DidActionForm, DidEditForm, object_name

# At most this many candidates are listed beside a picker; with more, the picker alone.
SUGGESTIONS = 10


@dataclass
class ActionPanel:
    transition: Transition
    form: DidActionForm
    url: str
    suggestions: list[tuple[int, str]] = field(default_factory=list)
    closing_until: datetime | None = None  # for close / close again: reserved till then

    @property
    def key(self) -> str:
        return self.transition.key


def suggestions(did: Did, transition: Transition, actor: User) -> list[tuple[int, str]]:
    """A short list of the likeliest targets, each one the services would accept.

    The devices of the DID's user (to put a reserved or closed DID to work); users,
    dial plans or resellers only when the actor may name so few that all fit.
    """
    needs = transition.needs
    if needs is None:
        return []
    rows = target_queryset(needs, actor)
    if needs == "device":
        if did.user_id is None:
            return []
        rows = rows.filter(user_id=did.user_id).exclude(pk=did.device_id or 0)
        candidates = list(rows.select_related("user")[:SUGGESTIONS])
    else:
        if needs in ("user", "reseller"):
            rows = rows.filter(is_active=True)
        if needs == "user":
            # The likeliest: end users of the DID's side (the holder's, or the system's).
            rows = rows.filter(role=User.Role.USER, owner_id=did.reseller_id)
        candidates = list(rows[: SUGGESTIONS + 1])
        if len(candidates) > SUGGESTIONS:
            return []
    return [
        (obj.pk, object_name(obj))
        for obj in candidates
        if target_problem(did, transition.key, obj, actor) is None
    ]


def did_controls(request: HttpRequest, did: Did, bound: Mapping[str, Any]) -> dict[str, Any]:
    """The edit form and the action panels for `did`, as `request.user` may use them."""
    actor: User = request.user
    edit_form = bound.get("edit_form")
    if edit_form is None and editable_fields(actor) and actor.may_manage_dids:
        edit_form = DidEditForm(did=did, actor=actor)
    bound_action: DidActionForm | None = bound.get("action_form")
    days = SystemSettings.load().days_for_did_close
    panels = []
    for transition in actions_for(did, actor):
        if bound_action is not None and bound_action.transition.key == transition.key:
            form = bound_action
        else:
            form = DidActionForm(did=did, transition=transition, actor=actor)
        panels.append(
            ActionPanel(
                transition=transition,
                form=form,
                url=reverse("dids:action", args=[did.pk, transition.key]),
                suggestions=suggestions(did, transition, actor),
                closing_until=(
                    timezone.now() + timedelta(days=days) if transition.starts_closing else None
                ),
            )
        )
    return {
        "edit_form": edit_form,
        "edit_url": reverse("dids:edit", args=[did.pk]),
        "action_panels": panels,
        "days_for_did_close": days,
    }
