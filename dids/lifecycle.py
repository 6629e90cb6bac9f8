"""The DID lifecycle (domain.md §4) as data: which action moves a DID from which status
to which, what it needs, and who may take it.

The services (`dids.services.did_apply`) read this table to validate every change,
inside the row lock; the pages read it to offer only the actions that would succeed
(`actions_for`). No other code decides whether a transition is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import User

from .models import DialPlan, Did

FREE = Did.Status.FREE
RESERVED = Did.Status.RESERVED
ACTIVE = Did.Status.ACTIVE
CLOSED = Did.Status.CLOSED
TERMINATED = Did.Status.TERMINATED


@dataclass(frozen=True)
class Condition:
    """A precondition beyond the status, with the words for when it does not hold."""

    holds: Callable[[Did], bool]
    refusal: str  # completes "DID 123 …: <action> is not possible"


CONDITIONS: dict[str, Condition] = {
    "bare": Condition(
        lambda d: d.user_id is None and d.device_id is None and d.dial_plan_id is None,
        "has an end user, a device or a dial plan",
    ),
    "on_device": Condition(
        lambda d: d.device_id is not None and d.dial_plan_id is None, "is not on a device"
    ),
    "not_on_dial_plan": Condition(lambda d: d.dial_plan_id is None, "is on a dial plan"),
    "has_device": Condition(lambda d: d.device_id is not None, "has no device to work on"),
    "unheld": Condition(lambda d: d.reseller_id is None, "is held by a reseller"),
    "held": Condition(lambda d: d.reseller_id is not None, "is held by no reseller"),
    # A free DID a reseller holds is taken back first: terminating would end the hold.
    "not_free_and_held": Condition(
        lambda d: not (d.status == FREE and d.reseller_id is not None),
        "is free and held by a reseller (take it back first)",
    ),
    "not_on_queue": Condition(
        lambda d: d.dial_plan_id is None or d.dial_plan.type != DialPlan.Type.QUEUE,
        "is on a queue dial plan",
    ),
}


@dataclass(frozen=True)
class Transition:
    key: str
    name: str  # what the history and the pages call it (domain.md §4's words)
    source: frozenset[str]
    target: str | None  # None: the DID is deleted
    needs: str | None = None  # "user" | "device" | "dial_plan" | "reseller"
    requires: tuple[str, ...] = ()  # keys of CONDITIONS
    # Effects besides the status and what `needs` sets (user; device and its user; dial
    # plan; reseller): the fields cleared, those also cleared when the operator acts, and
    # whether the closing period (re)starts.
    clears: tuple[str, ...] = ()
    operator_clears: tuple[str, ...] = ()
    starts_closing: bool = False
    system_only: bool = False  # admins and accountants with write; never resellers
    destructive: bool = False  # the page asks for a confirmation
    help: str = ""

    @property
    def label(self) -> str:
        return self.name[0].upper() + self.name[1:]

    def blocked_by(self, did: Did) -> Condition | None:
        """The first precondition that does not hold (None: all hold)."""
        for key in self.requires:
            condition = CONDITIONS[key]
            if not condition.holds(did):
                return condition
        return None


def _t(key: str, name: str, source: set[str], target: str | None, **kwargs) -> Transition:
    return Transition(key=key, name=name, source=frozenset(source), target=target, **kwargs)


TRANSITIONS: dict[str, Transition] = {
    t.key: t
    for t in (
        _t(
            "reserve",
            "reserve for user",
            {FREE},
            RESERVED,
            needs="user",
            requires=("bare",),
            help="Keep the DID for one user until it is put on the user's device.",
        ),
        _t(
            "assign_device",
            "assign device",
            {FREE, RESERVED},
            ACTIVE,
            needs="device",
            requires=("not_on_dial_plan",),
            help="Put the DID on a device: it works at once; its end user becomes the "
            "device's user. A reserved DID goes only to a device of its user.",
        ),
        _t(
            "assign_dial_plan",
            "assign dial plan",
            {FREE},
            ACTIVE,
            needs="dial_plan",
            requires=("bare",),
            help="Route the DID's calls to a dial plan (IVR, queue, calling card, …).",
        ),
        _t(
            "reassign_device",
            "re-assign device",
            {ACTIVE},
            ACTIVE,
            needs="device",
            requires=("on_device",),
            help="Move the working DID to another device; its end user becomes that device's user.",
        ),
        _t(
            "unassign_device",
            "unassign device",
            {ACTIVE},
            FREE,
            clears=("user", "device"),
            requires=("on_device",),
            destructive=True,
            help="Take the DID off its device: it becomes free; end user and device are "
            "cleared, a reseller keeps holding it.",
        ),
        _t(
            "close",
            "close",
            {ACTIVE},
            CLOSED,
            starts_closing=True,
            requires=("not_on_dial_plan",),
            destructive=True,
            help="Stop the DID's calls; it stays reserved for its user for the system's "
            "Days for DID close, then becomes free by itself.",
        ),
        _t(
            "close_again",
            "close again",
            {CLOSED},
            CLOSED,
            starts_closing=True,
            help="Restart the period the closed DID stays reserved for its user.",
        ),
        _t(
            "reactivate",
            "re-activate",
            {CLOSED},
            ACTIVE,
            clears=("reserved_for_user_till",),
            requires=("has_device",),
            help="Put the closed DID back to work on its device.",
        ),
        _t(
            "make_free",
            "make free",
            {RESERVED, ACTIVE, CLOSED, TERMINATED},
            FREE,
            clears=("user", "device", "dial_plan", "reserved_for_user_till"),
            operator_clears=("reseller",),
            destructive=True,
            help="End user, device, dial plan and the reservation are cleared. Made free "
            "by the operator it also leaves its reseller; by its reseller, the reseller "
            "keeps holding it.",
        ),
        _t(
            "hand_to_reseller",
            "hand to reseller",
            {FREE},
            FREE,
            needs="reseller",
            requires=("bare", "unheld"),
            system_only=True,
            help="The reseller holds the DID (it stays free) and can reserve it for its "
            "users and put it on their devices.",
        ),
        _t(
            "take_back",
            "take back from reseller",
            {FREE},
            FREE,
            clears=("reseller",),
            requires=("bare", "held"),
            system_only=True,
            destructive=True,
            help="The reseller no longer holds the DID.",
        ),
        _t(
            "terminate",
            "terminate",
            {FREE, CLOSED},
            TERMINATED,
            clears=("user", "device", "dial_plan", "reseller", "reserved_for_user_till"),
            requires=("not_free_and_held",),
            system_only=True,
            destructive=True,
            help="Out of use, kept for history. End user, device, dial plan, reseller and "
            "the reservation are cleared.",
        ),
        _t(
            "delete",
            "delete",
            {TERMINATED},
            None,
            requires=("not_on_queue",),
            system_only=True,
            destructive=True,
            help="Remove the DID and its history for good; the number can be created again.",
        ),
    )
}


# --- Who may change DIDs ------------------------------------------------------


def may_take(transition: Transition, actor: User) -> bool:
    """The actor's role allows the action at all (whatever the DID's state): the system's
    side (`User.manages_all_dids`) every action, a reseller those not `system_only`."""
    if not getattr(actor, "is_authenticated", False) or not actor.may_manage_dids:
        return False
    return actor.manages_all_dids or not transition.system_only


def refusal(did: Did, transition: Transition, actor: User) -> str | None:
    """Why `actor` cannot take `transition` on `did` now (None: it can, targets aside).

    The DID must already be one the actor may manage (`Did.objects.manageable_by`).
    """
    if not may_take(transition, actor):
        return f'You may not "{transition.name}" DIDs.'
    if did.status not in transition.source:
        possible = [t.name for t in actions_for(did, actor)]
        status = Did.Status(did.status).label.lower()
        if possible:
            listed = ", ".join(f'"{name}"' for name in possible[:-1])
            listed = f'{listed} or "{possible[-1]}"' if listed else f'"{possible[0]}"'
            return f"DID {did.number} is {status}: only {listed} {_is_are(possible)} possible."
        return f"DID {did.number} is {status}: no action is possible."
    blocked = transition.blocked_by(did)
    if blocked is not None:
        return f'DID {did.number} {blocked.refusal}: "{transition.name}" is not possible.'
    return None


def _is_are(items: list) -> str:
    return "is" if len(items) == 1 else "are"


def actions_for(did: Did, actor: User) -> list[Transition]:
    """The actions the DID's page offers `actor` from the DID's current state."""
    return [
        t
        for t in TRANSITIONS.values()
        if may_take(t, actor) and did.status in t.source and t.blocked_by(did) is None
    ]
