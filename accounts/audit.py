"""The audit log: snapshots of accounts, groups and settings, and what changed between two.

A snapshot maps a human label to a display value. Secret values (the API secret
key) are kept in a snapshot only as a fingerprint, in memory, so that a change can
be detected; the audit entry itself then says "secret changed", never the value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from .models import (
    ACCOUNTANT_RIGHTS,
    API_METHODS,
    AccountantGroup,
    ApiPermissionGroup,
    ApiSettings,
    AuditEntry,
    Level,
    MethodRight,
    SystemSettings,
    User,
)

Snapshot = dict[str, object]


class SecretFingerprint:
    """Stands in for a secret inside a snapshot: comparable, but never printable."""

    def __init__(self, secret: str) -> None:
        # A digest, not the secret, so that even an in-memory snapshot cannot leak it.
        self._digest = hashlib.sha256(secret.encode()).hexdigest() if secret else ""

    @property
    def is_set(self) -> bool:
        return bool(self._digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretFingerprint) and other._digest == self._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def __repr__(self) -> str:
        return "<secret>"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _or_dash(value: object) -> str:
    return str(value) if value not in (None, "") else "—"


def user_snapshot(user: User) -> Snapshot:
    return {
        "Username": user.username,
        "First name": user.first_name,
        "Last name": user.last_name,
        "Email": user.email,
        "Role": user.get_role_display(),
        "Owner": _or_dash(user.owner.username if user.owner_id else None),
        "Accountant group": _or_dash(user.accountant_group if user.accountant_group_id else None),
        "API permission group": _or_dash(
            user.api_permission_group if user.api_permission_group_id else None
        ),
        "API restricted": _yes_no(user.api_restricted),
        "Reseller PRO": _yes_no(user.own_providers),
        "System administrator": _yes_no(user.is_system_administrator),
        "Active": _yes_no(user.is_active),
    }


def accountant_group_snapshot(group: AccountantGroup) -> Snapshot:
    snapshot: Snapshot = {"Name": group.name}
    for key, label in ACCOUNTANT_RIGHTS.items():
        snapshot[label] = Level(group.right(key)).label
    return snapshot


def api_permission_group_snapshot(group: ApiPermissionGroup) -> Snapshot:
    snapshot: Snapshot = {"Name": group.name}
    for key, label in API_METHODS.items():
        snapshot[label] = MethodRight(group.method(key)).label
    return snapshot


def api_settings_snapshot(settings: ApiSettings) -> Snapshot:
    snapshot: Snapshot = {"Allow API": _yes_no(settings.allow_api)}
    if settings.reseller_id is None:
        snapshot["Allow GET API"] = _yes_no(settings.allow_get_api)
    snapshot["API Secret Key"] = SecretFingerprint(settings.api_secret_key)
    snapshot["Disable hash checking"] = _yes_no(settings.disable_hash_checking)
    return snapshot


def system_settings_snapshot(settings: SystemSettings) -> Snapshot:
    return {
        "Days for DID close": str(settings.days_for_did_close),
        "Resellers can add their own DIDs": _yes_no(settings.resellers_can_add_their_own_dids),
    }


def _secret_note(old: object, new: object) -> str:
    was_set = isinstance(old, SecretFingerprint) and old.is_set
    is_set = isinstance(new, SecretFingerprint) and new.is_set
    if not was_set and is_set:
        return "secret set"
    if was_set and not is_set:
        return "secret removed"
    return "secret changed"


def snapshot_changes(before: Mapping[str, object], after: Mapping[str, object]) -> list[dict]:
    """The fields whose values differ, in the order of `after`; secrets only as a note."""
    changes: list[dict] = []
    for label, new in after.items():
        old = before.get(label)
        if old == new:
            continue
        if isinstance(new, SecretFingerprint) or isinstance(old, SecretFingerprint):
            changes.append({"field": label, "note": _secret_note(old, new)})
        else:
            changes.append({"field": label, "old": _or_dash(old), "new": _or_dash(new)})
    return changes


def creation_changes(after: Mapping[str, object]) -> list[dict]:
    """A new object: every filled-in field with its value (secrets only as "secret set")."""
    changes: list[dict] = []
    for label, value in after.items():
        if isinstance(value, SecretFingerprint):
            if value.is_set:
                changes.append({"field": label, "note": "secret set"})
        elif _or_dash(value) != "—":  # empty fields of a new object say nothing
            changes.append({"field": label, "old": "—", "new": _or_dash(value)})
    return changes


OBJECT_TYPES: dict[type, str] = {
    User: "account",
    AccountantGroup: "accountant group",
    ApiPermissionGroup: "API permission group",
    ApiSettings: "API settings",
    SystemSettings: "system settings",
}


def audit_record(
    *,
    by: User | None,
    action: str,
    instance: object,
    changes: list[dict],
    object_repr: str | None = None,
    object_type: str | None = None,
) -> AuditEntry | None:
    """Write one entry; an update that changed nothing leaves no entry.

    `object_type` names what changed for models outside this app (providers, devices,
    dial plans: dids.catalog), which accounts must not import.
    """
    if action == AuditEntry.Action.UPDATE and not changes:
        return None
    entry = audit_entry(
        by=by,
        action=action,
        instance=instance,
        changes=changes,
        object_repr=object_repr,
        object_type=object_type,
    )
    entry.save()
    return entry


def audit_entry(
    *,
    by: User | None,
    action: str,
    instance: object,
    changes: list[dict],
    object_repr: str | None = None,
    object_type: str | None = None,
) -> AuditEntry:
    """One entry, unsaved: for writers that save many at once (bulk_create)."""
    return AuditEntry(
        actor=by,
        actor_name=by.username if by is not None else "",
        action=action,
        object_type=object_type or OBJECT_TYPES[type(instance)],
        object_id=str(getattr(instance, "pk", "") or ""),
        object_repr=(object_repr if object_repr is not None else str(instance))[:200],
        changes=changes,
    )


def change_text(change: Mapping[str, object]) -> str:
    """One change as a line of text: `Role: user → reseller` or `API Secret Key: secret changed`."""
    if "note" in change:
        return f"{change['field']}: {change['note']}"
    return f"{change['field']}: {change['old']} → {change['new']}"
