"""What a DID shows to a viewer: the contract's elements (§5), their values and presence.

One place for both faces of the portal: the `dids_get` serializer emits these
elements as XML tags, and the GUI table and CSV export use the same names as
columns, so the GUI never shows what the API would hide, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from accounts.models import User

from .models import Did

# Every element, in the contract's order.
ELEMENTS: tuple[str, ...] = (
    "did",
    "did_number",
    "provider",
    "language",
    "status",
    "did_status",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "updated_at",
    "reseller",
    "owner",
    "device",
    "dial_plan",
    "simultaneous_call_limit",
    "comment",
    "tone_zone",
    "id",
    "device_id",
    "user_id",
    "reserved_for_user_till",
)

# Elements that only some roles ever see; every other element may be shown to anyone.
SYSTEM_WIDE_ONLY = frozenset({"provider", "reseller"})  # admins and accountants
NOT_FOR_END_USERS = frozenset({"dial_plan", "tone_zone"})


def role_elements(viewer: User) -> tuple[str, ...]:
    """The elements that the viewer's role may see at all, in the contract's order."""
    hidden: set[str] = set()
    if not (viewer.is_admin or viewer.is_accountant):
        hidden |= SYSTEM_WIDE_ONLY
    if viewer.is_end_user:
        hidden |= NOT_FOR_END_USERS
    return tuple(name for name in ELEMENTS if name not in hidden)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, whole seconds (fractions are cut, not rounded)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def did_elements(did: Did, viewer: User, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    """The elements of one DID for the viewer, in order, absent ones left out.

    `allowed` is `role_elements(viewer)`; pass it in when rendering many rows.
    """
    allowed = allowed if allowed is not None else role_elements(viewer)
    return dict(_elements(did, viewer, frozenset(allowed)))


def _elements(did: Did, viewer: User, allowed: frozenset[str]) -> Iterator[tuple[str, str]]:
    def shown(name: str) -> bool:
        return name in allowed

    yield "did", did.number
    yield "did_number", did.number
    if shown("provider"):
        yield "provider", did.provider.name if did.provider_id else ""
    yield "language", did.language
    yield "status", did.status_label
    yield "did_status", did.status
    yield "ai_agent_compatible", "true" if did.ai_agent_compatible else "false"
    yield "routes_to_openai_project_id", did.routes_to_openai_project_id
    if did.updated_at is not None:
        yield "updated_at", rfc3339(did.updated_at)
    if shown("reseller") and did.reseller_id is not None:
        yield "reseller", did.reseller.display_name
    # `owner_name` is annotated by Did.objects.with_owner_name() (part of for_listing()):
    # the same SQL expression that search_did_owner filters on.
    if did.owner_name is not None:
        yield "owner", did.owner_name
    yield "device", did.device.display if did.device_id else ""
    if shown("dial_plan"):
        yield "dial_plan", did.dial_plan.display if did.dial_plan_id else ""
    yield "simultaneous_call_limit", did.call_limit_display
    comment = did.comment_for(viewer)
    if comment:
        yield "comment", comment
    if shown("tone_zone"):
        yield "tone_zone", did.tone_zone
    yield "id", str(did.id)
    if did.device_id is not None:
        yield "device_id", str(did.device_id)
    if did.user_id is not None:
        yield "user_id", str(did.user_id)
    if did.status == Did.Status.CLOSED and did.reserved_for_user_till is not None:
        yield "reserved_for_user_till", rfc3339(did.reserved_for_user_till)
