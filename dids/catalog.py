"""Writes to the things around a DID: providers, devices and dial plans (domain §1, §3).

Who may change what is `<Model>.objects.manageable_by(account)` (dids.models); these
services check it again inside the transaction, on the locked row, so a view that
forgets cannot write. Each is a typed `<entity>_<action>(*, by, …)`: it validates
(ValidationError keyed by field name, nothing changed), saves, and records an audit
entry (accounts.models.AuditEntry), all in one transaction.

- admins and accountants with *Manage DIDs* write: every provider, device, dial plan;
- a reseller: the devices of its own users, its own dial plans, and its own
  providers if it is a Reseller PRO (what it creates is its own);
- users read their own devices and change nothing.

An object that DIDs still use cannot be deleted (`InUse`, with the count), and a
device that DIDs use keeps its user (a DID's end user is its device's user).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError

from accounts.audit import Snapshot, audit_record, creation_changes, snapshot_changes
from accounts.models import AuditEntry, User

from .models import Device, DialPlan, Did, Provider, writes_every_did

DEVICE_TYPE = re.compile(r"[A-Za-z0-9]+\Z")
# Offered as suggestions on the device form; any letters and digits are accepted.
COMMON_DEVICE_TYPES = ("SIP", "IAX2", "FAX", "H323", "PJSIP", "DAHDI", "Virtual")


class InUse(ValidationError):
    """Refused because DIDs still use the object; `count` says how many."""

    def __init__(self, noun: str, count: int) -> None:
        self.count = count
        super().__init__(
            f"This {noun} is used by {count} DID{'' if count == 1 else 's'}: "
            "take it off those DIDs first.",
            code="in_use",
        )


# --- Who may add ------------------------------------------------------------


def may_add_provider(account: User | None) -> bool:
    return writes_every_did(account) or bool(
        account is not None and account.is_active and account.is_reseller and account.own_providers
    )


def may_add_device(account: User | None) -> bool:
    return writes_every_did(account) or bool(
        account is not None and account.is_active and account.is_reseller
    )


def may_add_dial_plan(account: User | None) -> bool:
    return may_add_device(account)


# --- Snapshots for the audit log --------------------------------------------


def _owner_text(owner: User | None) -> str:
    return owner.username if owner is not None else "system"


def provider_snapshot(provider: Provider) -> Snapshot:
    return {"Name": provider.name, "Owner": _owner_text(provider.owner)}


def device_snapshot(device: Device) -> Snapshot:
    return {
        "Type": device.type,
        "Name": device.name,
        "Extension": device.extension,
        "User": device.user.username if device.user_id else "",
    }


def dial_plan_snapshot(dial_plan: DialPlan) -> Snapshot:
    return {
        "Name": dial_plan.name,
        "Type": dial_plan.type,
        "Owner": _owner_text(dial_plan.owner),
    }


@dataclass(frozen=True)
class Kind:
    noun: str  # also the audit log's object type
    model: type[models.Model]
    snapshot: Callable[[Any], Snapshot]
    did_field: str  # the DID's foreign key to it


PROVIDERS = Kind("provider", Provider, provider_snapshot, "provider")
DEVICES = Kind("device", Device, device_snapshot, "device")
DIAL_PLANS = Kind("dial plan", DialPlan, dial_plan_snapshot, "dial_plan")


def dids_using(kind: Kind, instance: models.Model) -> int:
    """Every DID that uses the object, whoever may see it: they all block a delete."""
    return Did.objects.filter(**{f"{kind.did_field}_id": instance.pk}).count()


# --- Shared steps -------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _locked(kind: Kind, by: User, instance: models.Model) -> Any:
    """The row, locked, if `by` may change it; PermissionDenied otherwise."""
    row = kind.model.objects.manageable_by(by).select_for_update().filter(pk=instance.pk).first()
    if row is None:
        raise PermissionDenied(f"You may not change this {kind.noun}.")
    return row


def _text(errors: _Errors, field: str, value: str, *, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        errors.add(field, f"{label} has at most {max_length} characters.")
    return value


def _check_owner(
    errors: _Errors, by: User, owner: User | None, *, own_providers: bool = False
) -> User | None:
    """The system (None) or a reseller; a reseller creates only for itself."""
    if not writes_every_did(by):
        if owner is not None and owner.pk != by.pk:
            errors.add("owner", "You can only own it yourself.")
        return by
    if owner is None:
        return None
    if not owner.is_reseller:
        errors.add("owner", "The owner must be a reseller, or empty for the system.")
    elif own_providers and not owner.own_providers:
        errors.add("owner", "Only a Reseller PRO has providers of its own.")
    return owner


def _save(instance: models.Model) -> None:
    instance.full_clean(validate_constraints=False)
    instance.save()


def _record(by: User, kind: Kind, action: str, instance: Any, changes: list[dict]) -> None:
    audit_record(
        by=by,
        action=action,
        instance=instance,
        changes=changes,
        object_repr=str(instance),
        object_type=kind.noun,
    )


def _created(kind: Kind, by: User, instance: Any) -> Any:
    """Save a new row and audit it with every field as a change."""
    _save(instance)
    _record(by, kind, AuditEntry.Action.CREATE, instance, creation_changes(kind.snapshot(instance)))
    return instance


def _updated(kind: Kind, by: User, locked: Any, before: Snapshot) -> Any:
    """Save a changed (locked) row and audit what changed since `before`."""
    _save(locked)
    changes = snapshot_changes(before, kind.snapshot(locked))
    _record(by, kind, AuditEntry.Action.UPDATE, locked, changes)
    return locked


def _delete(kind: Kind, *, by: User, instance: models.Model) -> None:
    locked = _locked(kind, by, instance)
    count = dids_using(kind, locked)
    if count:
        raise InUse(kind.noun, count)
    changes = [
        {"field": label, "old": value or "—", "new": "—"}
        for label, value in kind.snapshot(locked).items()
    ]
    _record(by, kind, AuditEntry.Action.DELETE, locked, changes)
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, IntegrityError):
        # A DID took it between the count and the delete.
        raise InUse(kind.noun, max(1, dids_using(kind, locked))) from None


# --- Providers ------------------------------------------------------------------


def _provider_values(by: User, name: str, owner: User | None) -> tuple[str, User | None]:
    errors = _Errors()
    name = _text(errors, "name", name, label="The name", max_length=100)
    if not name:
        errors.add("name", "Give the provider a name.")
    owner = _check_owner(errors, by, owner, own_providers=True)
    errors.raise_if_any()
    return name, owner


@transaction.atomic
def provider_create(*, by: User, name: str, owner: User | None = None) -> Provider:
    if not may_add_provider(by):
        raise PermissionDenied("You may not add providers.")
    name, owner = _provider_values(by, name, owner)
    return _created(PROVIDERS, by, Provider(name=name, owner=owner))


@transaction.atomic
def provider_update(*, by: User, provider: Provider, name: str, owner: User | None) -> Provider:
    locked = _locked(PROVIDERS, by, provider)
    before = provider_snapshot(locked)
    locked.name, locked.owner = _provider_values(
        by, name, owner if writes_every_did(by) else locked.owner
    )
    return _updated(PROVIDERS, by, locked, before)


@transaction.atomic
def provider_delete(*, by: User, provider: Provider) -> None:
    _delete(PROVIDERS, by=by, instance=provider)


# --- Devices --------------------------------------------------------------------


def device_users(by: User) -> models.QuerySet:
    """The end users whose devices `by` may create or move a device to."""
    users = User.objects.filter(role=User.Role.USER)
    if writes_every_did(by):
        return users
    if by.is_active and by.is_reseller:
        return users.filter(owner=by)
    return users.none()


def _device_values(
    by: User, *, type: str, name: str, extension: str, user: User | None
) -> dict[str, Any]:
    errors = _Errors()
    type_ = _text(errors, "type", type, label="The type", max_length=20).upper()
    if not type_:
        errors.add("type", "Give the device's type, e.g. SIP or IAX2.")
    elif not DEVICE_TYPE.match(type_):
        errors.add("type", "The type is letters and digits, e.g. SIP or IAX2.")
    name = _text(errors, "name", name, label="The name", max_length=100)
    extension = _text(errors, "extension", extension, label="The extension", max_length=50)
    if type_ == "FAX" and not extension:
        errors.add("extension", "A fax device is shown by its extension: give one.")
    elif not name and not extension:
        errors.add("name", "Give a name or an extension.")
    if user is None:
        errors.add("user", "Choose the user whose device this is.")
    elif not device_users(by).filter(pk=user.pk).exists():
        errors.add(
            "user",
            "Choose one of your own users."
            if by.is_reseller
            else "Choose an end user (role user).",
        )
    errors.raise_if_any()
    return {"type": type_, "name": name, "extension": extension, "user": user}


@transaction.atomic
def device_create(
    *, by: User, type: str, name: str = "", extension: str = "", user: User | None
) -> Device:
    if not may_add_device(by):
        raise PermissionDenied("You may not add devices.")
    device = Device(**_device_values(by, type=type, name=name, extension=extension, user=user))
    return _created(DEVICES, by, device)


@transaction.atomic
def device_update(
    *, by: User, device: Device, type: str, name: str, extension: str, user: User | None
) -> Device:
    locked = _locked(DEVICES, by, device)
    before = device_snapshot(locked)
    values = _device_values(by, type=type, name=name, extension=extension, user=user)
    if values["user"].pk != locked.user_id:
        count = dids_using(DEVICES, locked)
        if count:
            raise ValidationError(
                {
                    "user": f"{count} DID{'' if count == 1 else 's'} use this device, and a "
                    "DID's end user is its device's user: take the device off those DIDs "
                    "before giving it to another user."
                }
            )
    for field, value in values.items():
        setattr(locked, field, value)
    return _updated(DEVICES, by, locked, before)


@transaction.atomic
def device_delete(*, by: User, device: Device) -> None:
    _delete(DEVICES, by=by, instance=device)


# --- Dial plans -----------------------------------------------------------------


def _dial_plan_values(by: User, name: str, type: str, owner: User | None) -> dict[str, Any]:
    errors = _Errors()
    name = _text(errors, "name", name, label="The name", max_length=100)
    if not name:
        errors.add("name", "Give the dial plan a name.")
    if type not in DialPlan.Type.values:
        errors.add("type", f"Choose one of {', '.join(DialPlan.Type.values)}.")
    owner = _check_owner(errors, by, owner)
    errors.raise_if_any()
    return {"name": name, "type": type, "owner": owner}


@transaction.atomic
def dial_plan_create(*, by: User, name: str, type: str, owner: User | None = None) -> DialPlan:
    if not may_add_dial_plan(by):
        raise PermissionDenied("You may not add dial plans.")
    return _created(DIAL_PLANS, by, DialPlan(**_dial_plan_values(by, name, type, owner)))


@transaction.atomic
def dial_plan_update(
    *, by: User, dial_plan: DialPlan, name: str, type: str, owner: User | None
) -> DialPlan:
    locked = _locked(DIAL_PLANS, by, dial_plan)
    before = dial_plan_snapshot(locked)
    values = _dial_plan_values(by, name, type, owner if writes_every_did(by) else locked.owner)
    for field, value in values.items():
        setattr(locked, field, value)
    return _updated(DIAL_PLANS, by, locked, before)


@transaction.atomic
def dial_plan_delete(*, by: User, dial_plan: DialPlan) -> None:
    _delete(DIAL_PLANS, by=by, instance=dial_plan)
