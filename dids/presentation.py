"""What a DID shows to a viewer: the contract's elements (§5), their values and presence.

One place for both faces of the portal: the `dids_get` serializer emits these
elements as XML tags, and the GUI table and CSV export use the same names as
columns, so the GUI never shows what the API would hide, nor the reverse.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

from accounts.models import User, display_name
from portal.statements import Statement, SubqueryOf

from .models import Did, call_limit_display, device_display, dial_plan_display

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
    # isoformat cuts the fraction as strftime did, and is several times faster.
    return moment.astimezone(UTC).isoformat(timespec="seconds").removesuffix("+00:00") + "Z"


class DidRow(NamedTuple):
    """What the elements of one DID are made of: one row of one query, no model instance.

    Lists, exports and `dids_get` read these straight from the database (`did_rows`);
    a single model instance becomes one with `row_of`.
    """

    id: int
    number: str
    status: str
    language: str
    ai_agent_compatible: bool
    routes_to_openai_project_id: str
    updated_at: datetime | None
    call_limit: int
    comment: str
    reseller_comment: str
    tone_zone: str
    reserved_for_user_till: datetime | None
    provider_id: int | None
    provider_name: str | None
    reseller_id: int | None
    reseller_first_name: str | None
    reseller_last_name: str | None
    reseller_username: str | None
    owner_name: str | None
    user_id: int | None
    device_id: int | None
    device_type: str | None
    device_name: str | None
    device_extension: str | None
    dial_plan_id: int | None
    dial_plan_name: str | None
    dial_plan_type: str | None

    # What a table's row (django-tables2) asks of a record.
    @property
    def pk(self) -> int:
        return self.id

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


# The query path of each DidRow field, field by field; `owner_name` is
# Did.objects.with_owner_name()'s annotation, the SQL expression search_did_owner uses.
ROW_SOURCES: tuple[str, ...] = (
    "id",
    "number",
    "status",
    "language",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "updated_at",
    "call_limit",
    "comment",
    "reseller_comment",
    "tone_zone",
    "reserved_for_user_till",
    "provider_id",
    "provider__name",
    "reseller_id",
    "reseller__first_name",
    "reseller__last_name",
    "reseller__username",
    "owner_name",
    "user_id",
    "device_id",
    "device__type",
    "device__name",
    "device__extension",
    "dial_plan_id",
    "dial_plan__name",
    "dial_plan__type",
)


# A DidRow from a row tuple, without a Python call per row (DidRow._make is one).
_did_row = functools.partial(tuple.__new__, DidRow)


class _DidRowIterable(ValuesListIterable):
    """`values_list()`'s rows as DidRows (as `named=True` does with a class of its own)."""

    def __iter__(self) -> Iterator[DidRow]:
        return map(_did_row, super().__iter__())


def did_rows(dids: QuerySet) -> QuerySet:
    """The DIDs of a queryset as DidRows, in its order: one query with only the columns
    the elements need, no model instances. Iterate it with `.iterator()` when large."""
    if "owner_name" not in dids.query.annotations:
        dids = dids.with_owner_name()
    rows = dids.values_list(*ROW_SOURCES)
    rows._iterable_class = _DidRowIterable
    return rows


# A page of rows by ids (dids_get's windows): whatever cut the ids (a FilterSet's
# query within visible_to), the columns, joins and order around them are the same for
# every page, so that part is built and compiled once (portal.statements). Building
# and compiling the whole listing cost about 3.5 ms of each request's CPU.
_WINDOW_ROWS = Statement(
    lambda ids: did_rows(Did.objects.filter(pk__in_window=ids).in_contract_order()),
    ids=SubqueryOf(Did._meta.pk),
)


def window_rows(ids: QuerySet) -> QuerySet:
    """DidRows of the DIDs whose ids the queryset selects (a sliced `values("pk")`, e.g.
    DidFilterSet.window_ids), in contract order; one query, read as it is."""
    return _WINDOW_ROWS(ids=ids)


def row_of(did: Did | DidRow) -> DidRow:
    """A model instance as a DidRow (its `owner_name` annotation, if any, included)."""
    if isinstance(did, DidRow):
        return did
    provider, reseller, device, dial_plan = did.provider, did.reseller, did.device, did.dial_plan
    return DidRow(
        did.id,
        did.number,
        did.status,
        did.language,
        did.ai_agent_compatible,
        did.routes_to_openai_project_id,
        did.updated_at,
        did.call_limit,
        did.comment,
        did.reseller_comment,
        did.tone_zone,
        did.reserved_for_user_till,
        did.provider_id,
        provider.name if provider else None,
        did.reseller_id,
        reseller.first_name if reseller else None,
        reseller.last_name if reseller else None,
        reseller.username if reseller else None,
        getattr(did, "owner_name", None),
        did.user_id,
        did.device_id,
        device.type if device else None,
        device.name if device else None,
        device.extension if device else None,
        did.dial_plan_id,
        dial_plan.name if dial_plan else None,
        dial_plan.type if dial_plan else None,
    )


STATUS_LABELS: dict[str, str] = dict(Did.Status.choices)


class Presenter:
    """The elements of DIDs for one viewer: the role's rules worked out once, then
    applied to any number of rows (the hot loop of lists, exports and `dids_get`)."""

    def __init__(self, viewer: User, allowed: tuple[str, ...] | None = None) -> None:
        self.allowed = allowed if allowed is not None else role_elements(viewer)
        shown = frozenset(self.allowed)
        self.provider = "provider" in shown
        self.reseller = "reseller" in shown
        self.dial_plan = "dial_plan" in shown
        self.tone_zone = "tone_zone" in shown
        self.reseller_comment = viewer.writes_reseller_comment

    def elements(self, row: DidRow) -> dict[str, str]:
        """The elements of one DID, in the contract's order, absent ones left out."""
        number = row.number
        out = {"did": number, "did_number": number}
        if self.provider:
            out["provider"] = row.provider_name if row.provider_id is not None else ""
        out["language"] = row.language
        out["status"] = STATUS_LABELS[row.status]
        out["did_status"] = row.status
        out["ai_agent_compatible"] = "true" if row.ai_agent_compatible else "false"
        out["routes_to_openai_project_id"] = row.routes_to_openai_project_id
        if row.updated_at is not None:
            out["updated_at"] = rfc3339(row.updated_at)
        if self.reseller and row.reseller_id is not None:
            out["reseller"] = display_name(
                row.reseller_first_name, row.reseller_last_name, row.reseller_username
            )
        if row.owner_name is not None:
            out["owner"] = row.owner_name
        out["device"] = (
            device_display(row.device_type, row.device_name, row.device_extension)
            if row.device_id is not None
            else ""
        )
        if self.dial_plan:
            out["dial_plan"] = (
                dial_plan_display(row.dial_plan_name, row.dial_plan_type)
                if row.dial_plan_id is not None
                else ""
            )
        out["simultaneous_call_limit"] = call_limit_display(row.call_limit)
        comment = row.reseller_comment if self.reseller_comment else row.comment
        if comment:
            out["comment"] = comment
        if self.tone_zone:
            out["tone_zone"] = row.tone_zone
        out["id"] = str(row.id)
        if row.device_id is not None:
            out["device_id"] = str(row.device_id)
        if row.user_id is not None:
            out["user_id"] = str(row.user_id)
        if row.status == Did.Status.CLOSED and row.reserved_for_user_till is not None:
            out["reserved_for_user_till"] = rfc3339(row.reserved_for_user_till)
        return out


def did_elements(did: Did, viewer: User, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    """The elements of one DID (a model instance) for the viewer, in order, absent ones
    left out. Many rows: `Presenter(viewer).elements` over `did_rows(queryset)`."""
    return Presenter(viewer, allowed).elements(row_of(did))
