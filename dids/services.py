"""Writes to DIDs: the only code that changes a DID (GUI, import, bulk actions, API).

Each service is one transaction: it locks the DID's row (`SELECT … FOR UPDATE`),
releases it first if it is a closed DID past its date, checks the action against
the lifecycle table (`dids.lifecycle`) and the actor's rights *inside the lock*,
applies it, sets `updated_at` and writes one `DidHistory` entry (who, when, the
channel, the client address, what changed as old → new). A refusal is a
`DidActionRefused` with a sentence for a person, and changes nothing. A request
that changes nothing writes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.audit import audit_entry
from accounts.models import AuditEntry, SystemSettings, User
from portal.statements import Statement

from .lifecycle import TRANSITIONS, Transition, may_take, refusal
from .models import DID_NUMBER_VALIDATOR, Device, DialPlan, Did, DidHistory, Provider

Source = DidHistory.Source

# The largest value of the integer columns (PostgreSQL's integer).
MAX_INTEGER = 2147483647
MAX_COMMENT = 65535
RANGE_LIMIT = 10_000
CLASHES_SHOWN = 20


class DidActionRefused(Exception):
    """An action that may not happen, with the reason in a person's words.

    `code` says what kind of refusal it is, for callers that answer in their own words
    (the legacy API): not_found, not_permitted, status, terminated, condition, target,
    invalid, stale, exists.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# --- What each side may edit ---------------------------------------------------

# The tone zones of the legacy system (Asterisk's indications.conf).
TONE_ZONES: tuple[str, ...] = (
    "at", "au", "be", "bg", "br", "ch", "cl", "cn", "cz", "de", "dk", "ee", "es", "fi", "fr",
    "gr", "hu", "il", "in", "it", "jp", "lt", "mx", "my", "nl", "no", "nz", "ph", "pl", "pt",
    "ru", "se", "sg", "th", "tw", "uk", "us", "us-old", "ve", "za",
)  # fmt: skip

SYSTEM_FIELDS: tuple[str, ...] = (
    "provider",
    "language",
    "call_limit",
    "comment",
    "reseller_comment",
    "tone_zone",
    "grace_time",
    "callerid_name_prefix",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "custom_sip_header",
)
RESELLER_FIELDS: tuple[str, ...] = (
    "reseller_comment",
    "language",
    "tone_zone",
    "callerid_name_prefix",
    "call_limit",
    "custom_sip_header",
    "provider",  # Reseller PRO only, its own providers
)
ONE_LINE_FIELDS = frozenset(
    {"language", "tone_zone", "callerid_name_prefix", "routes_to_openai_project_id"}
    | {"custom_sip_header"}
)
TEXT_FIELDS = ONE_LINE_FIELDS | {"comment", "reseller_comment"}
WHOLE_NUMBER_FIELDS = frozenset({"call_limit", "grace_time"})


def editable_fields(actor: User) -> tuple[str, ...]:
    """The DID fields the actor may change (on the DIDs it may manage)."""
    if actor.manages_all_dids:
        return SYSTEM_FIELDS
    if actor.may_manage_dids:
        fields = RESELLER_FIELDS
        return fields if actor.own_providers else tuple(f for f in fields if f != "provider")
    return ()


def _max_length(name: str) -> int:
    if name in ("comment", "reseller_comment"):
        return MAX_COMMENT
    return Did._meta.get_field(name).max_length


def text_problem(value: str, *, one_line: bool, max_length: int) -> str | None:
    """Why a text value cannot be stored (None: it can): the one rule of what text may hold."""
    if "\x00" in value:
        return "must not contain a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid text"
    if one_line and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "must be one line of text without control characters"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def _label(name: str) -> str:
    return str(Did._meta.get_field(name).verbose_name)


def _sentence_start(label: str) -> str:
    # Not str.capitalize(): it would lower the rest ("Custom sip header", "Callerid").
    return label[:1].upper() + label[1:]


def clean_field_value(name: str, value: Any) -> Any:
    """A field's value checked against its rule (DidActionRefused("invalid") if it fails),
    for a form that checks a value once before applying it to many DIDs."""
    return _clean_value(name, value)


def _clean_value(name: str, value: Any) -> Any:
    """A field's value checked against its rule; DidActionRefused("invalid") if it fails."""
    label = _label(name)
    if name in TEXT_FIELDS:
        if not isinstance(value, str):
            raise DidActionRefused("invalid", f"{_sentence_start(label)} must be text.", field=name)
        problem = text_problem(
            value, one_line=name in ONE_LINE_FIELDS, max_length=_max_length(name)
        )
        if problem:
            raise DidActionRefused("invalid", f"{_sentence_start(label)} {problem}.", field=name)
        if name == "tone_zone" and value and value not in TONE_ZONES:
            raise DidActionRefused(
                "invalid", f"Tone zone {value!r} is not one of the known zones.", field=name
            )
        return value
    if name in WHOLE_NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
            raise DidActionRefused(
                "invalid",
                f"{_sentence_start(label)} must be a whole number from 0 to {MAX_INTEGER}.",
                field=name,
            )
        return value
    if name == "ai_agent_compatible":
        if not isinstance(value, bool):
            raise DidActionRefused("invalid", "AI-agent compatible must be yes or no.", field=name)
        return value
    if name == "provider":
        if value is not None and not isinstance(value, Provider):
            raise DidActionRefused("invalid", "Unknown provider.", field=name)
        return value
    raise DidActionRefused("invalid", f"{name} cannot be changed.", field=name)


def provider_allowed(provider: Provider | None, *, actor: User, holder_id: int | None) -> bool:
    """May the actor put this provider on a DID held by `holder_id`?

    The operator: a provider of the system or of the reseller holding the DID; a
    Reseller PRO: one of its own."""
    if provider is None:
        return actor.manages_all_dids
    if actor.manages_all_dids:
        return provider.owner_id is None or provider.owner_id == holder_id
    return actor.is_reseller and actor.own_providers and provider.owner_id == actor.pk


def _apply_fields(did: Did, fields: Mapping[str, Any], actor: User, holder_id: int | None):
    allowed = editable_fields(actor)
    for name, value in fields.items():
        if name not in allowed:
            raise DidActionRefused(
                "not_permitted", f"You may not change the {_label(name)}.", field=name
            )
        value = _clean_value(name, value)
        if name == "provider":
            if value is not None and value.pk == did.provider_id:
                continue
            if not provider_allowed(value, actor=actor, holder_id=holder_id):
                raise DidActionRefused(
                    "not_permitted", f"You may not use the provider {value}.", field=name
                )
        setattr(did, name, value)


# --- History -------------------------------------------------------------------

RELATED = ("provider", "user", "device", "reseller", "dial_plan")
HISTORY_FIELDS: tuple[str, ...] = (
    "number",
    "status",
    *RELATED,
    *SYSTEM_FIELDS[1:],  # every editable field but provider, which is in RELATED
    "reserved_for_user_till",
)


def _shown(did: Did, name: str) -> object:
    """A field's value as the history keeps it: text a person reads (names, not ids)."""
    if name in RELATED:
        obj = getattr(did, name)
        if obj is None:
            return None
        text = obj.display_name if isinstance(obj, User) else str(obj)
        return f"{text} (#{obj.pk})"
    value = getattr(did, name)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def did_snapshot(did: Did) -> dict[str, object]:
    return {name: _shown(did, name) for name in HISTORY_FIELDS}


def snapshot_changes(before: Mapping[str, object], after: Mapping[str, object]) -> dict:
    return {name: [before[name], after[name]] for name in after if before[name] != after[name]}


def did_history_record(
    *, did: Did, by: User | None, source: str, action: str, changes: dict, address: str = ""
) -> DidHistory:
    return DidHistory.objects.create(
        did=did, by=by, source=source, action=action, changes=changes, address=address[:45]
    )


# --- The release of expired closed DIDs ------------------------------------------


def _release(did: Did, now: datetime, *, write: bool = True) -> None:
    """A closed DID past its date becomes free; end user and device cleared; a reseller
    keeps holding it; recorded by the system. `write=False`: in memory only (a dry run)."""
    before = did_snapshot(did)
    did.status = Did.Status.FREE
    did.user = None
    did.device = None
    did.reserved_for_user_till = None
    did.updated_at = now
    if not write:
        return
    did.save(update_fields=["status", "user", "device", "reserved_for_user_till", "updated_at"])
    did_history_record(
        did=did,
        by=None,
        source=Source.SYSTEM,
        action="release",
        changes=snapshot_changes(before, did_snapshot(did)),
    )


def _is_expired(did: Did, now: datetime) -> bool:
    till = did.reserved_for_user_till
    return did.status == Did.Status.CLOSED and till is not None and till <= now


def _expired(now: datetime) -> QuerySet:
    return Did.objects.filter(status=Did.Status.CLOSED, reserved_for_user_till__lte=now)


# Every listing asks first, so the question is compiled once (portal.statements).
_ANY_EXPIRED = Statement(_expired, now=Did._meta.get_field("reserved_for_user_till"))


def dids_release_expired(*, now: datetime | None = None) -> int:
    """Release every closed DID whose *reserved for user till* has passed.

    Listings call this first, so that no page, export or API ever shows such a DID
    as closed; `manage.py release_closed_dids` runs it from cron as well. Returns
    the count.
    """
    now = now or timezone.now()
    # The common case is nothing to release: one cheap indexed query, no transaction.
    if not _ANY_EXPIRED.exists(now=now):
        return 0
    with transaction.atomic():
        dids = list(_expired(now).select_for_update().order_by("id"))
        for did in dids:
            _release(did, now)
    return len(dids)


# --- Transitions and edits -------------------------------------------------------

UNCHECKED: Any = object()  # expected_updated_at not given: no check for a concurrent change


def _lock(did_id: int, actor: User) -> Did:
    """The DID, its row locked; not_found when it does not exist for the actor.

    Its related rows come in the same query (the checks and the history's names read
    them); only the DID's own row is locked."""
    try:
        return (
            Did.objects.manageable_by(actor)
            .select_related(*RELATED)
            .select_for_update(of=("self",))
            .get(pk=did_id)
        )
    except (Did.DoesNotExist, ValueError, TypeError, OverflowError):
        raise DidActionRefused("not_found", "No such DID.") from None


def _stale(did: Did) -> DidActionRefused:
    last = did.history.select_related("by").first()
    if last is None:
        return DidActionRefused("stale", f"DID {did.number} was changed since you opened it.")
    who = last.by.display_name if last.by is not None else "the system"
    when = timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M:%S")
    return DidActionRefused(
        "stale",
        f"DID {did.number} was changed by {who} at {when} since you opened it. "
        "Nothing was saved: look at its current state and try again.",
    )


def _scope_owner(did: Did, actor: User) -> int | None:
    """Whose accounts the DID may go to: the acting reseller's, else the holder's (None:
    the system's, i.e. accounts no reseller owns)."""
    return actor.pk if not actor.manages_all_dids else did.reseller_id


def _check_user(did: Did, target: Any, actor: User, scope: int | None) -> None:
    if not isinstance(target, User) or not target.is_active or target.is_reseller:
        raise DidActionRefused("target", "Pick an active account that is not a reseller.")
    if scope is not None and not (target.is_end_user and target.owner_id == scope):
        raise DidActionRefused(
            "target", f"{target.display_name} is not a user of the DID's reseller."
        )


def _check_device(did: Did, target: Any, actor: User, scope: int | None) -> None:
    if not isinstance(target, Device):
        raise DidActionRefused("target", "Pick a device.")
    owner = target.user
    if not owner.is_active:
        raise DidActionRefused("target", f"The account of the device {target} is disabled.")
    if owner.owner_id != scope or (scope is not None and not owner.is_end_user):
        whose = "the DID's reseller's users" if scope else "accounts of the system"
        raise DidActionRefused("target", f"The device {target} does not belong to {whose}.")
    if did.status == Did.Status.RESERVED and did.user_id != owner.pk:
        raise DidActionRefused(
            "target",
            f"DID {did.number} is reserved for another user than {owner.display_name}.",
        )


def _check_dial_plan(did: Did, target: Any, actor: User, scope: int | None) -> None:
    if not isinstance(target, DialPlan):
        raise DidActionRefused("target", "Pick a dial plan.")
    # The operator: the system's dial plans or the holder's; a reseller: its own.
    allowed = {None, did.reseller_id} if actor.manages_all_dids else {actor.pk}
    if target.owner_id not in allowed:
        raise DidActionRefused("target", f"You may not use the dial plan {target}.")


def _check_reseller(did: Did, target: Any, actor: User, scope: int | None) -> None:
    if not isinstance(target, User) or not target.is_reseller or not target.is_active:
        raise DidActionRefused("target", "Pick an active reseller.")


# What each kind of target must be, for the DID and the actor (Transition.needs).
TARGET_CHECKS: dict[str, Callable[[Did, Any, User, int | None], None]] = {
    "user": _check_user,
    "device": _check_device,
    "dial_plan": _check_dial_plan,
    "reseller": _check_reseller,
}


def _check_target(did: Did, transition: Transition, target: Any, actor: User) -> None:
    if transition.needs is not None:
        TARGET_CHECKS[transition.needs](did, target, actor, _scope_owner(did, actor))


def _move(
    did: Did,
    transition: Transition,
    target: Any,
    actor: User,
    now: datetime,
    close_days: int | None = None,
) -> None:
    """The transition's effects, as its table row says. `close_days`: the system's Days
    for DID close, when the caller has it already (read here otherwise)."""
    did.status = transition.target
    needs = transition.needs
    if needs == "user":
        did.user = target
    elif needs == "device":
        did.device = target
        did.user = target.user
    elif needs == "dial_plan":
        did.dial_plan = target
    elif needs == "reseller":
        did.reseller = target
    cleared = transition.clears + (transition.operator_clears if actor.manages_all_dids else ())
    for name in cleared:
        setattr(did, name, None)
    if transition.starts_closing:
        if close_days is None:
            close_days = SystemSettings.load().days_for_did_close
        did.reserved_for_user_till = now + timedelta(days=close_days)


def _refused_transition(did: Did, transition: Transition, actor: User) -> None:
    why = refusal(did, transition, actor)
    if why is None:
        return
    if not may_take(transition, actor):
        code = "not_permitted"
    elif did.status not in transition.source:
        code = "terminated" if did.status == Did.Status.TERMINATED else "status"
    else:
        code = "condition"
    raise DidActionRefused(code, why)


def _change(
    did: Did,
    transition: Transition | None,
    *,
    actor: User,
    target: Any,
    fields: Mapping[str, Any] | None,
    now: datetime,
    close_days: int | None = None,
) -> dict | None:
    """The steps every write takes on one locked DID, single (`did_apply`), its dry run
    (`did_preview`) or in bulk (`dids_apply_many`, `dids_apply_each`): the transition's
    refusal, its target, its effects, then the fields. The DID changes in memory only;
    nothing is written here.

    Returns the changes as the history keeps them (old → new; empty: nothing would
    change), or None when the action deletes the DID. Raises DidActionRefused.
    """
    before = did_snapshot(did)
    holder_id = did.reseller_id
    if transition is not None:
        _refused_transition(did, transition, actor)
        _check_target(did, transition, target, actor)
        if transition.target is None:
            return None
        _move(did, transition, target, actor, now, close_days)
    if fields:
        _apply_fields(did, fields, actor, holder_id)
    return snapshot_changes(before, did_snapshot(did))


@transaction.atomic
def did_apply(
    *,
    did_id: int,
    action: str | None,
    actor: User,
    source: str,
    address: str = "",
    target: Any = None,
    fields: Mapping[str, Any] | None = None,
    expected_updated_at: datetime | None = UNCHECKED,
    precheck: Callable[[Did], str | None] | None = None,
) -> Did | None:
    """Take one action (a key of TRANSITIONS, or None for an edit only) and/or change
    fields of one DID, in one transaction with one history entry.

    `precheck(locked_did)` runs first on the locked row: a caller with rules of its
    own (the legacy API's checks, in its order) raises from there; it may return
    another action key to take instead, or "" for none. `expected_updated_at` is the
    `updated_at` the actor saw: if the DID changed since, the action is refused.
    Returns the DID as saved (None after "delete").
    """
    now = timezone.now()
    did = _lock(did_id, actor)
    if _is_expired(did, now):
        _release(did, now)
    if precheck is not None:
        override = precheck(did)
        if override is not None:
            action = override or None
    if expected_updated_at is not UNCHECKED and did.updated_at != expected_updated_at:
        raise _stale(did)
    transition = TRANSITIONS[action] if action else None
    changes = _change(did, transition, actor=actor, target=target, fields=fields, now=now)
    if changes is None:
        _delete(did, actor, source, address)
        return None
    if not changes:
        return did
    did.updated_at = now
    did.save()
    did_history_record(
        did=did,
        by=actor,
        source=source,
        action=transition.name if transition is not None else "edit",
        changes=changes,
        address=address,
    )
    return did


def _delete(did: Did, actor: User, source: str, address: str) -> None:
    """The DID goes with its history; the audit log keeps who deleted which number."""
    _deletion_audit(did, actor, source, address).save()
    did.delete()


def _deletion_audit(did: Did, actor: User, source: str, address: str) -> AuditEntry:
    channel = Source(source).label
    return audit_entry(
        by=actor,
        action=AuditEntry.Action.DELETE,
        instance=did,
        object_type="DID",
        object_repr=f"DID {did.number}",
        changes=[
            {"field": "DID", "old": did.number, "new": "—"},
            {"field": "ID", "note": str(did.pk)},
            {"field": "Through", "note": f"{channel}" + (f" from {address}" if address else "")},
        ],
    )


def _wrapper(action: str, needs: str | None = None) -> Callable[..., Did | None]:
    def service(*, did_id: int, actor: User, source: str, address: str = "", **kwargs):
        target = kwargs.pop(needs) if needs else None
        return did_apply(
            did_id=did_id,
            action=action,
            actor=actor,
            source=source,
            address=address,
            target=target,
            **kwargs,
        )

    service.__name__ = f"did_{action}"
    service.__doc__ = f"{TRANSITIONS[action].label}: {TRANSITIONS[action].help}"
    return service


# One service per action, named `did_<action>(*, did_id, actor, source, address="", …)`.
did_reserve = _wrapper("reserve", "user")
did_assign_device = _wrapper("assign_device", "device")
did_assign_dial_plan = _wrapper("assign_dial_plan", "dial_plan")
did_reassign_device = _wrapper("reassign_device", "device")
did_unassign_device = _wrapper("unassign_device")
did_close = _wrapper("close")
did_close_again = _wrapper("close_again")
did_reactivate = _wrapper("reactivate")
did_make_free = _wrapper("make_free")
did_hand_to_reseller = _wrapper("hand_to_reseller", "reseller")
did_take_back = _wrapper("take_back")
did_terminate = _wrapper("terminate")
did_delete = _wrapper("delete")


def did_edit(
    *,
    did_id: int,
    fields: Mapping[str, Any],
    actor: User,
    source: str,
    address: str = "",
    expected_updated_at: datetime | None = UNCHECKED,
) -> Did:
    """Change a DID's details (no transition): only the fields the actor may edit."""
    return did_apply(
        did_id=did_id,
        action=None,
        actor=actor,
        source=source,
        address=address,
        fields=fields,
        expected_updated_at=expected_updated_at,
    )


# --- Many DIDs, each its own change (an import's batch) ----------------------------


@dataclass(frozen=True)
class DidChange:
    """One DID's change for `dids_apply_each`: did_apply's arguments for it."""

    did_id: int
    action: str | None = None
    target: Any = None
    fields: Mapping[str, Any] | None = None
    precheck: Callable[[Did], None] | None = None  # raises DidActionRefused to refuse


def dids_apply_each(
    changes: Sequence[DidChange], *, actor: User, source: str, address: str = ""
) -> list[DidActionRefused | None]:
    """did_apply for several DIDs, each with its own action and fields, in one
    transaction: the rows are locked together in id order (with their related rows),
    then each is released if due, prechecked and changed exactly as did_apply does
    (`_change`) and given its history entry; the changed rows are saved with one UPDATE
    and the entries with one INSERT.

    A refused change leaves its DID as it is and the others go on: the result says, per
    change in order, None (done, or nothing to change) or its refusal. Deleting is not
    offered here. For a batch of a few hundred: four round trips in all, where did_apply
    takes five per DID.
    """
    now = timezone.now()
    results: list[DidActionRefused | None] = []
    with transaction.atomic():
        rows = (
            Did.objects.manageable_by(actor)
            .filter(pk__in=sorted({change.did_id for change in changes}))
            .select_related(*RELATED)
            .select_for_update(of=("self",))
            .order_by("id")
        )
        locked = {did.pk: did for did in rows}
        history: list[DidHistory] = []
        columns: set[str] = set()
        for change in changes:
            try:
                did = locked.get(change.did_id)
                if did is None:
                    raise DidActionRefused("not_found", "No such DID.")
                if _is_expired(did, now):
                    _release(did, now)
                if change.precheck is not None:
                    change.precheck(did)
                transition = TRANSITIONS[change.action] if change.action else None
                if transition is not None and transition.target is None:
                    raise DidActionRefused("not_permitted", "Deleting is done one DID at a time.")
                changed = copy.copy(did)  # a refusal half-way leaves `did` as it was
                diff = _change(
                    changed,
                    transition,
                    actor=actor,
                    target=change.target,
                    fields=change.fields,
                    now=now,
                )
            except DidActionRefused as refused:
                results.append(refused)
                continue
            results.append(None)
            if not diff:
                continue
            changed.updated_at = now
            locked[did.pk] = changed
            columns.update(Did._meta.get_field(name).attname for name in diff)
            history.append(
                DidHistory(
                    did=changed,
                    by=actor,
                    source=source,
                    action=transition.name if transition is not None else "edit",
                    changes=diff,
                    address=address[:45],
                )
            )
        saved = [locked[pk] for pk in dict.fromkeys(entry.did_id for entry in history)]
        if saved:
            # One UPDATE for the batch; a column is rewritten only where one of them changed.
            Did.objects.bulk_update(saved, [*sorted(columns), "updated_at"])
        DidHistory.objects.bulk_create(history)
    return results


# --- Targets: what an actor may name as the object of an action --------------------

# The kinds of object an action or an edit points at (Transition.needs, and "provider").
TARGET_MODELS: dict[str, type] = {
    "user": User,
    "device": Device,
    "dial_plan": DialPlan,
    "reseller": User,
    "provider": Provider,
}


def target_queryset(kind: str, actor: User) -> QuerySet:
    """The objects of a kind that the actor may look up by id and see the name of.

    Wider than what an action accepts on a given DID (that is `target_problem`), never
    wider than the actor's own circle: the system's side names anything; a reseller its
    own users, their devices, its dial plans and (Reseller PRO) its providers. Anything
    else does not exist for it.
    """
    model = TARGET_MODELS[kind]
    rows = model.objects.all()
    if kind == "reseller":
        rows = rows.filter(role=User.Role.RESELLER)
    if actor.manages_all_dids:
        return rows
    if not (actor.may_manage_dids and actor.is_reseller) or kind == "reseller":
        return rows.none()
    if kind == "user":
        return rows.filter(owner=actor)
    if kind == "device":
        return rows.filter(user__owner=actor)
    if kind == "provider" and not actor.own_providers:
        return rows.none()
    return rows.filter(owner=actor)  # dial plans, providers


def target_problem(did: Did, action: str, target: Any, actor: User) -> str | None:
    """Why `target` cannot be the object of `action` on `did` for `actor` (None: it can).

    The very check that `did_apply` makes inside its lock, for forms that want to say
    so at the field before anything is attempted (and to list only valid candidates).
    """
    try:
        _check_target(did, TRANSITIONS[action], target, actor)
    except DidActionRefused as refused:
        return refused.message
    return None


# --- Previews (what a change would do, without writing) ---------------------------


@dataclass(frozen=True)
class Preview:
    """What did_apply would make of a DID: the DID as it would be saved (unsaved, a copy),
    its state before (`did_snapshot`, after a due release) and the history's changes."""

    did: Did | None  # None: the action deletes it
    before: dict[str, object]
    changes: dict


def did_current(did: Did, *, now: datetime | None = None) -> Did:
    """The DID as every page shows it: a copy, released if it is a closed DID past its
    date (the release itself is written by the next change, or by the listings)."""
    now = now or timezone.now()
    did = copy.copy(did)
    if _is_expired(did, now):
        _release(did, now, write=False)
    return did


def did_preview(
    did: Did,
    *,
    action: str | None,
    actor: User,
    target: Any = None,
    fields: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Preview:
    """What `did_apply(action=…, fields=…)` would do to `did`, computed on a copy with the
    same checks and effects, writing nothing (a dry run).

    `did` must be one the actor may manage (`Did.objects.manageable_by`), read without a
    lock: the real change is checked again, inside the lock, by did_apply. A closed DID
    past its date is taken as released first, as did_apply does. Raises DidActionRefused
    as did_apply would.
    """
    now = now or timezone.now()
    did = did_current(did, now=now)
    before = did_snapshot(did)
    transition = TRANSITIONS[action] if action else None
    changes = _change(did, transition, actor=actor, target=target, fields=fields, now=now)
    if changes is None:
        return Preview(did=None, before=before, changes={})
    return Preview(did=did, before=before, changes=changes)


# --- Many DIDs at once ------------------------------------------------------------

BULK_CHUNK = 1000
EXAMPLES_KEPT = 5
NOT_FOUND_REASON = "No such DID: deleted meanwhile, or not one you may change."
UNCHANGED_REASON = "The DID has this value already: nothing to change."


@dataclass
class Skipped:
    """The DIDs skipped for one reason: how many, and the first few (id, number)."""

    count: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class BulkOutcome:
    """What a run of `dids_apply_many` changed (or, dry, would change) and what it skipped."""

    changed: int = 0
    skipped: dict[str, Skipped] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(group.count for group in self.skipped.values())

    def skip(self, reason: str, did: Did | None = None, count: int = 1) -> None:
        group = self.skipped.setdefault(reason, Skipped())
        group.count += count
        if did is not None and len(group.examples) < EXAMPLES_KEPT:
            group.examples.append((did.pk, did.number))


def skip_reason(refused: DidActionRefused, did: Did) -> str:
    """A refusal's message for any DID it applies to ("The DID is terminated: …"), so that
    refusals for the same reason group together whatever the number."""
    return refused.message.replace(f"DID {did.number}", "The DID")


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def dids_apply_many(
    *,
    ids: Iterable[int],
    action: str | None,
    actor: User,
    source: str,
    address: str = "",
    target: Any = None,
    fields: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    chunk_size: int = BULK_CHUNK,
) -> BulkOutcome:
    """`did_apply` on many DIDs: the same per-DID steps (`_change`), written in bulk.

    `ids` is consumed `chunk_size` at a time (pass an iterator: nothing holds every id).
    Each chunk is its own transaction: its rows are locked in id order (`SELECT … FOR
    UPDATE`), each DID is checked and changed in memory as `did_apply` would, then the
    changed rows are written with one UPDATE per distinct set of new values and their
    history entries with one INSERT. A refused DID is skipped with the reason and left
    as it is; a DID that no longer exists for the actor is skipped as not found.
    `dry_run`: the same evaluation without locks or writes (the confirmation page).
    """
    transition = TRANSITIONS[action] if action else None
    outcome = BulkOutcome()
    for chunk in _chunks(ids, chunk_size):
        if dry_run:
            _apply_chunk(chunk, transition, actor, source, address, target, fields, outcome, False)
        else:
            with transaction.atomic():
                _apply_chunk(
                    chunk, transition, actor, source, address, target, fields, outcome, True
                )
    return outcome


# A chunk's rows: every column of the DID, and of its relations what the checks and the
# history's names read (display names, the dial plan's type), in one query. Fewer
# columns of the accounts make a chunk markedly cheaper to load.
CHUNK_COLUMNS: tuple[str, ...] = (
    *(f.name for f in Did._meta.concrete_fields),
    # What User.display_name reads.
    *(
        f"{side}__{name}"
        for side in ("user", "reseller")
        for name in ("username", "first_name", "last_name")
    ),
    "device__type",
    "device__name",
    "device__extension",
    "provider__name",
    "dial_plan__name",
    "dial_plan__type",
)


def _apply_chunk(
    chunk: list[int],
    transition: Transition | None,
    actor: User,
    source: str,
    address: str,
    target: Any,
    fields: Mapping[str, Any] | None,
    outcome: BulkOutcome,
    write: bool,
) -> None:
    now = timezone.now()
    close_days = (
        SystemSettings.load().days_for_did_close
        if transition is not None and transition.starts_closing
        else None
    )
    rows = (
        Did.objects.manageable_by(actor)
        .filter(pk__in=chunk)
        .select_related(*RELATED)
        .only(*CHUNK_COLUMNS)
        .order_by("id")
    )
    if write:
        rows = rows.select_for_update(of=("self",))
    dids = list(rows)
    missing = len(set(chunk)) - len(dids)
    if missing:
        outcome.skip(NOT_FOUND_REASON, count=missing)
    updates: dict[tuple, list[int]] = {}
    history: list[DidHistory] = []
    deleted: list[Did] = []
    name = transition.name if transition is not None else "edit"
    for did in dids:
        if _is_expired(did, now):
            _release(did, now, write=write)
        try:
            changes = _change(
                did,
                transition,
                actor=actor,
                target=target,
                fields=fields,
                now=now,
                close_days=close_days,
            )
        except DidActionRefused as refused:
            outcome.skip(skip_reason(refused, did), did)
            continue
        if changes is not None and not changes:
            outcome.skip(UNCHANGED_REASON, did)
            continue
        outcome.changed += 1
        if changes is None:
            deleted.append(did)
            continue
        did.updated_at = now
        # Only the columns that changed, so that DIDs changed alike share one UPDATE.
        columns = [Did._meta.get_field(key).attname for key in sorted(changes)]
        values = tuple((column, getattr(did, column)) for column in [*columns, "updated_at"])
        updates.setdefault(values, []).append(did.pk)
        history.append(
            DidHistory(
                did_id=did.pk,
                by=actor,
                source=source,
                action=name,
                changes=changes,
                address=address[:45],
            )
        )
    if not write:
        return
    for values, pks in updates.items():
        Did.objects.filter(pk__in=pks).update(**dict(values))
    DidHistory.objects.bulk_create(history)
    if deleted:
        AuditEntry.objects.bulk_create(
            [_deletion_audit(did, actor, source, address) for did in deleted]
        )
        Did.objects.filter(pk__in=[did.pk for did in deleted]).delete()


# --- Creating DIDs ---------------------------------------------------------------


def may_create_dids(actor: User) -> bool:
    """The operator's side; a reseller while *Resellers can add their own DIDs* is on."""
    return creation_refusal(actor) is None


def creation_refusal(actor: User) -> str | None:
    """Why the actor may not create DIDs, in a person's words (None: it may)."""
    if not getattr(actor, "is_authenticated", False):
        return "You may not create DIDs."
    if actor.manages_all_dids:
        return None
    if actor.is_reseller and actor.may_manage_dids:
        if actor.own_providers and SystemSettings.load().resellers_can_add_their_own_dids:
            return None
        return (
            "Resellers may create DIDs only while the system setting "
            "Resellers can add their own DIDs is on, on their own providers (Reseller PRO)."
        )
    if actor.is_accountant and actor.can_read_dids:
        return "Creating DIDs needs the Manage DIDs right at write level."
    return "You may not create DIDs."


def clean_number(number: object) -> str:
    """The number with surrounding whitespace trimmed, if it follows the DID number rule."""
    if not isinstance(number, str):
        raise DidActionRefused("invalid", "A DID number is text.", field="number")
    number = number.strip(" \t\r\n")
    max_length = Did._meta.get_field("number").max_length
    try:
        DID_NUMBER_VALIDATOR(number)
    except ValidationError:
        raise DidActionRefused(
            "invalid",
            f"{number!r} is not a DID number: a digit, then digits or letters.",
            field="number",
        ) from None
    if len(number) > max_length:
        raise DidActionRefused(
            "invalid", f"A DID number has at most {max_length} characters.", field="number"
        )
    return number


def _new_did(actor: User, fields: Mapping[str, Any]) -> Did:
    """An unsaved free DID with the batch's values, all checked (no number yet)."""
    why = creation_refusal(actor)
    if why is not None:
        raise DidActionRefused("not_permitted", why)
    fields = dict(fields)
    did = Did(status=Did.Status.FREE)
    if actor.manages_all_dids:
        reseller = fields.pop("reseller", None)
        if reseller is not None and not (
            isinstance(reseller, User) and reseller.is_reseller and reseller.is_active
        ):
            raise DidActionRefused("invalid", "Pick an active reseller.", field="reseller")
        did.reseller = reseller
    else:
        if fields.pop("reseller", actor) != actor:
            raise DidActionRefused("not_permitted", "Your DIDs are yours.", field="reseller")
        did.reseller = actor
        if fields.get("provider") is None:
            raise DidActionRefused("invalid", "Pick one of your providers.", field="provider")
    _apply_fields(did, fields, actor, did.reseller_id)
    return did


def _create_changes(did: Did) -> dict:
    return {
        name: [None, value]
        for name, value in did_snapshot(did).items()
        if value not in (None, "", 0, False) or name == "status"
    }


def did_create_preview(
    *, number: str, actor: User, fields: Mapping[str, Any] | None = None
) -> Preview:
    """The DID `did_create` would create (unsaved) and its history's changes, with the
    same checks, writing nothing (a dry run). Whether the number exists is not checked:
    the caller looks that up for many numbers at once (`existing_numbers`)."""
    did = _new_did(actor, fields or {})
    did.number = clean_number(number)
    return Preview(did=did, before={}, changes=_create_changes(did))


def did_create(
    *,
    number: str,
    actor: User,
    source: str,
    address: str = "",
    fields: Mapping[str, Any] | None = None,
) -> Did:
    """Create one free DID; refused when the number exists, in any status."""
    did = _new_did(actor, fields or {})
    did.number = clean_number(number)
    now = timezone.now()
    did.updated_at = now
    try:
        with transaction.atomic():
            if Did.objects.filter(number=did.number).exists():
                raise DidActionRefused("exists", f"DID {did.number} already exists.")
            did.save()
            did_history_record(
                did=did,
                by=actor,
                source=source,
                action="create",
                changes=_create_changes(did),
                address=address,
            )
    except IntegrityError:  # created at the same moment by someone else
        raise DidActionRefused("exists", f"DID {did.number} already exists.") from None
    return did


def range_numbers(first: str, last: str) -> list[str]:
    """Every number from `first` to `last`: digits of one length, at most RANGE_LIMIT."""
    first, last = first.strip(), last.strip()
    if not (first.isascii() and first.isdigit() and last.isascii() and last.isdigit()):
        raise DidActionRefused("invalid", "A range is two numbers of digits only.", field="range")
    if len(first) != len(last):
        raise DidActionRefused(
            "invalid", "Both ends of a range have the same number of digits.", field="range"
        )
    clean_number(first)
    if int(first) > int(last):
        raise DidActionRefused(
            "invalid", "The range's first number is after its last.", field="range"
        )
    count = int(last) - int(first) + 1
    if count > RANGE_LIMIT:
        raise DidActionRefused(
            "invalid",
            f"A range has at most {RANGE_LIMIT:,} numbers; this one has {count:,}.",
            field="range",
        )
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def existing_numbers(numbers: Iterable[str]) -> list[str]:
    """The numbers that exist already, in order."""
    numbers = list(numbers)
    found: set[str] = set()
    for start in range(0, len(numbers), 900):  # SQLite's limit of bound parameters
        batch = numbers[start : start + 900]
        found.update(Did.objects.filter(number__in=batch).values_list("number", flat=True))
    return [n for n in numbers if n in found]


def clash_message(clashes: list[str]) -> str:
    shown = ", ".join(clashes[:CLASHES_SHOWN])
    more = len(clashes) - CLASHES_SHOWN
    tail = f" and {more:,} more" if more > 0 else ""
    return f"{len(clashes):,} of these numbers exist already: {shown}{tail}. Nothing was created."


def dids_create_range(
    *,
    first: str,
    last: str,
    actor: User,
    source: str,
    address: str = "",
    fields: Mapping[str, Any] | None = None,
) -> int:
    """Create every number from `first` to `last`, all or nothing. Returns the count."""
    template = _new_did(actor, fields or {})
    numbers = range_numbers(first, last)
    values = {f.attname: getattr(template, f.attname) for f in Did._meta.concrete_fields}
    values.pop("id")
    changes = _create_changes(template)
    changes.pop("number", None)
    _insert_new(
        [Did(**{**values, "number": number}) for number in numbers],
        lambda did: {"number": [None, did.number], **changes},
        actor=actor,
        source=source,
        address=address,
    )
    return len(numbers)


def dids_create_many(
    *,
    items: Iterable[tuple[str, Mapping[str, Any]]],
    actor: User,
    source: str,
    address: str = "",
) -> list[Did]:
    """Create several free DIDs, each `(number, fields)` checked as did_create checks one;
    all or nothing (e.g. a batch of an import). Refused ("exists", naming the clashes)
    when any number exists, ("invalid") when a number is given twice."""
    dids: list[Did] = []
    for number, fields in items:
        did = _new_did(actor, fields)
        did.number = clean_number(number)
        dids.append(did)
    numbers = [did.number for did in dids]
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            raise DidActionRefused("invalid", f"DID {number} is given twice.", field="number")
        seen.add(number)
    _insert_new(dids, _create_changes, actor=actor, source=source, address=address)
    return dids


def _insert_new(
    dids: list[Did],
    history_changes: Callable[[Did], dict],
    *,
    actor: User,
    source: str,
    address: str,
) -> None:
    """Insert checked new DIDs and their "create" history, in one transaction; refused
    ("exists", naming the clashes) when any of their numbers exists."""
    numbers = [did.number for did in dids]
    now = timezone.now()
    for did in dids:
        did.updated_at = now
    try:
        with transaction.atomic():
            clashes = existing_numbers(numbers)
            if clashes:
                raise DidActionRefused("exists", clash_message(clashes))
            created = Did.objects.bulk_create(dids, batch_size=1000)
            if any(did.pk is None for did in created):  # a database that returns no ids
                ids = dict(Did.objects.filter(number__in=numbers).values_list("number", "pk"))
                for did in created:
                    did.pk = ids[did.number]
            DidHistory.objects.bulk_create(
                [
                    DidHistory(
                        did=did,
                        by=actor,
                        source=source,
                        action="create",
                        changes=history_changes(did),
                        address=address[:45],
                    )
                    for did in created
                ],
                batch_size=1000,
            )
    except IntegrityError:
        raise DidActionRefused("exists", clash_message(existing_numbers(numbers))) from None
