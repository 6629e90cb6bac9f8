"""Name pickers: JSON for the fields that take an id, so that people choose by name.

The contract (the filter panel uses it, and every form that takes the id of a user,
reseller, device, dial plan or provider may reuse it, the DID page's actions included):

    GET /dids/pick/<kind>/?q=<text>   the objects whose name matches, at most PAGE of them
    GET /dids/pick/<kind>/?id=<id>    the one object with that id (to show a pasted id's name)

    kind: users | resellers | devices | dial-plans | providers

    200 {"results": [{"id": 7, "label": "IAX2/105 (Erin Customer)"}, …], "more": false}
    400 {"error": "…"}  a malformed parameter (id, for_did, user, role, pro)
    403 {"error": "…"}  the viewer may not choose this kind of object at all
    404 {"error": "…"}  `for_did` names a DID the viewer does not see

- Only what the viewer may see is ever matched or named: the visibility rules of
  `Provider/Device/DialPlan.objects.visible_to` and, for accounts: admins and
  accountants with *Manage DIDs* every end user and reseller; a reseller itself and
  its own users; a user itself. An accountant without *Manage DIDs* gets 403 for all.
- `q` matches, case-insensitively, part of the name fields (accounts: username, first
  and last name; devices: name or extension; dial plans: name or type; providers: name),
  or the id when `q` is a whole number. Empty `q`: the first ones. (On PostgreSQL the
  account and device fields have trigram indexes: fast at 10,000 users and 100,000
  devices.)
- Results are ordered by label; `more` says that there are more than PAGE matches
  (type more of the name).
- Extra parameters narrow the matches; unknown ones are ignored:
  `users`: `role=user` or `role=reseller`; `resellers`: `pro=1` (Reseller PRO only);
  `devices`: `user=<account id>` (that user's devices), `for_did=<DID id>` (the devices
  that DID may take: those of its reseller's users, or of system users when no reseller
  holds it); `dial-plans`: `for_did=<DID id>` (its reseller's dial plans, or the
  system's).

static/portal/picker.js turns any `<input data-picker="<kind>">` into a search box: the
input keeps the id, so the form submits the id (and a URL keeps e.g. `search_user=5`);
every `data-picker-<name>="<value>"` attribute is sent as `<name>=<value>` (dashes
become underscores: `data-picker-for-did="123"` sends `for_did=123`); `data-none-label`
offers 0 ("none") under that label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.views import View

from accounts.models import User

from ..filters import MAX_ID
from ..models import Device, DialPlan, Did, Provider

PAGE = 20
WHOLE = re.compile(r"[0-9]{1,19}\Z")


class BadParameter(Exception):
    pass


def _whole(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    if value == "":
        return None
    if not WHOLE.match(value) or int(value) > MAX_ID:
        raise BadParameter(f"Invalid {name}: expected a whole number")
    return int(value)


def account_label(account: User) -> str:
    name = account.display_name
    label = name if name == account.username else f"{name} ({account.username})"
    return label if account.is_end_user else f"{label}, {account.get_role_display().lower()}"


def visible_accounts(viewer: User) -> QuerySet:
    """The accounts whose names a viewer may pick: the ones its DIDs can name."""
    accounts = User.objects.filter(role__in=[User.Role.USER, User.Role.RESELLER])
    if viewer.sees_all_dids:
        return accounts
    if viewer.is_reseller:
        return accounts.filter(Q(pk=viewer.pk) | Q(owner=viewer))
    if viewer.is_end_user:
        return accounts.filter(pk=viewer.pk)
    return accounts.none()


def _text_match(q: str, fields: tuple[str, ...]) -> Q:
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": q})
    if WHOLE.match(q) and int(q) <= MAX_ID:
        condition |= Q(pk=int(q))
    return condition


@dataclass(frozen=True)
class PickerKind:
    allowed: Callable[[User], bool]
    rows: Callable[[User, HttpRequest], QuerySet]
    search_fields: tuple[str, ...]
    label: Callable[[Any], str]
    order: tuple[str, ...]


def _users(viewer: User, request: HttpRequest) -> QuerySet:
    rows = visible_accounts(viewer)
    role = request.GET.get("role", "")
    if role:
        if role not in (User.Role.USER, User.Role.RESELLER):
            raise BadParameter("Invalid role: expected user or reseller")
        rows = rows.filter(role=role)
    return rows


def _resellers(viewer: User, request: HttpRequest) -> QuerySet:
    rows = visible_accounts(viewer).filter(role=User.Role.RESELLER)
    pro = request.GET.get("pro", "")
    if pro not in ("", "0", "1"):
        raise BadParameter("Invalid pro: expected 0 or 1")
    if pro == "1":
        rows = rows.filter(own_providers=True)
    return rows


def _did_for(viewer: User, request: HttpRequest) -> Did | None:
    did_id = _whole(request, "for_did")
    if did_id is None:
        return None
    did = Did.objects.visible_to(viewer).filter(pk=did_id).first()
    if did is None:
        raise LookupError("No such DID.")
    return did


def _devices(viewer: User, request: HttpRequest) -> QuerySet:
    rows = Device.objects.visible_to(viewer).select_related("user")
    user_id = _whole(request, "user")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    did = _did_for(viewer, request)
    if did is not None:
        rows = (
            rows.filter(user__owner_id=did.reseller_id)
            if did.reseller_id is not None
            else rows.filter(user__owner__isnull=True)
        )
    return rows


def _dial_plans(viewer: User, request: HttpRequest) -> QuerySet:
    rows = DialPlan.objects.visible_to(viewer)
    did = _did_for(viewer, request)
    if did is not None:
        rows = (
            rows.filter(owner_id=did.reseller_id)
            if did.reseller_id is not None
            else rows.filter(owner__isnull=True)
        )
    return rows


KINDS: dict[str, PickerKind] = {
    "users": PickerKind(
        allowed=lambda viewer: viewer.can_read_dids,
        rows=_users,
        search_fields=("username", "first_name", "last_name"),
        label=account_label,
        order=("first_name", "last_name", "username", "id"),
    ),
    "resellers": PickerKind(
        allowed=lambda viewer: viewer.sees_all_dids or viewer.is_reseller,
        rows=_resellers,
        search_fields=("username", "first_name", "last_name"),
        label=account_label,
        order=("first_name", "last_name", "username", "id"),
    ),
    "devices": PickerKind(
        allowed=lambda viewer: viewer.can_read_dids,
        rows=_devices,
        # Each a trigram index on PostgreSQL (dids migration 0006): no join, no full scan.
        search_fields=("name", "extension"),
        label=lambda device: f"{device.display} ({device.user.display_name})",
        order=("type", "name", "extension", "id"),
    ),
    "dial-plans": PickerKind(
        allowed=lambda viewer: viewer.sees_all_dids or viewer.is_reseller,
        rows=_dial_plans,
        search_fields=("name", "type"),
        label=lambda plan: plan.display,
        order=("name", "type", "id"),
    ),
    "providers": PickerKind(
        allowed=lambda viewer: viewer.can_read_dids and viewer.may_filter_by_provider,
        rows=lambda viewer, request: Provider.objects.visible_to(viewer),
        search_fields=("name",),
        label=lambda provider: provider.name,
        order=("name", "id"),
    ),
}


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class PickerView(View):
    """GET only; JSON in the contract of this module's docstring."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, kind: str) -> JsonResponse:
        picker = KINDS.get(kind)
        if picker is None:
            return _error("Unknown picker.", 404)
        viewer: User = request.user
        if not picker.allowed(viewer):
            return _error("You may not choose these.", 403)
        try:
            rows = picker.rows(viewer, request)
            wanted = _whole(request, "id")
        except BadParameter as error:
            return _error(str(error), 400)
        except LookupError as error:
            return _error(str(error), 404)
        if wanted is not None:
            rows = rows.filter(pk=wanted)
        else:
            q = request.GET.get("q", "").strip()[:100]
            if q:
                rows = rows.filter(_text_match(q, picker.search_fields))
        found = list(rows.order_by(*picker.order)[: PAGE + 1])
        response = JsonResponse(
            {
                "results": [{"id": obj.pk, "label": picker.label(obj)} for obj in found[:PAGE]],
                "more": len(found) > PAGE,
            }
        )
        response["Cache-Control"] = "private, no-store"
        return response
