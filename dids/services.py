"""Writes to DIDs. Each is atomic, locks the rows it changes and records history."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .models import Did, DidHistory


def did_history_record(
    *, did: Did, by: User | None, source: str, action: str, changes: dict
) -> DidHistory:
    return DidHistory.objects.create(did=did, by=by, source=source, action=action, changes=changes)


def dids_release_expired(*, now: datetime | None = None) -> int:
    """Release every closed DID whose *reserved for user till* has passed.

    It becomes free, its end user and device are cleared, a reseller keeps
    holding it, and the release is in its history (by the system). Listings call
    this first, so that no page, export or API ever shows such a DID as closed;
    `manage.py release_closed_dids` runs it from cron as well. Returns the count.
    """
    now = now or timezone.now()
    expired = Did.objects.filter(status=Did.Status.CLOSED, reserved_for_user_till__lte=now)
    # The common case is nothing to release: one cheap indexed query, no transaction.
    if not expired.exists():
        return 0
    with transaction.atomic():
        dids = list(expired.select_for_update().order_by("id"))
        for did in dids:
            changes = {
                "status": [did.status, Did.Status.FREE],
                "user_id": [did.user_id, None],
                "device_id": [did.device_id, None],
                "reserved_for_user_till": [
                    did.reserved_for_user_till.isoformat() if did.reserved_for_user_till else None,
                    None,
                ],
            }
            did.status = Did.Status.FREE
            did.user = None
            did.device = None
            did.reserved_for_user_till = None
            did.updated_at = now
            did.save(
                update_fields=["status", "user", "device", "reserved_for_user_till", "updated_at"]
            )
            did_history_record(
                did=did,
                by=None,
                source=DidHistory.Source.SYSTEM,
                action="release",
                changes=changes,
            )
    return len(dids)
