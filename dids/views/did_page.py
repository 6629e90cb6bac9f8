"""What the DID page adds around the DID itself: the way back to the list it was opened
from (with the same filters, sort and page), the previous and next DID of that list,
links from its owner, reseller, device, dial plan and user to their pages, and its
dates in the viewer's time zone.

The DIDs list carries its query string on every DID link (`/dids/7/?search_status=free
&sort=did&page=2`); the DID page reads it as the list's query, so everything here is
computed with the list's own FilterSet and table ordering.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import dateformat, timezone

from accounts.models import User

from ..filters import DidFilterSet
from ..models import Device, DialPlan, Did, Provider
from ..tables import MAX_PAGE_SIZE, DidTable
from .common import listing_query, visible_dids

# Day month year, time and the zone's abbreviation: "27 May 2026, 10:35:57 EEST".
READABLE = "j M Y, H:i:s T"


def readable_time(moment: datetime | None) -> str:
    """A moment as a person reads it, in the viewer's time zone (the API keeps RFC 3339)."""
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment), READABLE)


def account_url(viewer: User, account: User | None) -> str | None:
    """An account's page for the viewer: the account page for admins, its DIDs for the
    others who may see them; None where the viewer has no page of it."""
    if account is None:
        return None
    if viewer.is_admin:
        return reverse("accounts:account_edit", args=[account.pk])
    if viewer.sees_all_dids or (
        viewer.is_reseller and (account.pk == viewer.pk or account.owner_id == viewer.pk)
    ):
        return f"{reverse('dids:list')}?search_user={account.pk}"
    return None


def field_links(did: Did, viewer: User) -> dict[str, str]:
    """Element name -> URL of the page of what it names, where the viewer may open one."""
    links: dict[str, str] = {}

    def add(name: str, url: str | None) -> None:
        if url:
            links[name] = url

    if did.user_id is not None:
        add("owner", account_url(viewer, did.user))
        add("user_id", account_url(viewer, did.user))
    if did.reseller_id is not None:
        add("reseller", account_url(viewer, did.reseller))
    if (
        did.device_id is not None
        and Device.objects.visible_to(viewer).filter(pk=did.device_id).exists()
    ):
        add("device", reverse("catalog:device_edit", args=[did.device_id]))
        add("device_id", reverse("catalog:device_edit", args=[did.device_id]))
    if (
        did.dial_plan_id is not None
        and DialPlan.objects.visible_to(viewer).filter(pk=did.dial_plan_id).exists()
    ):
        add("dial_plan", reverse("catalog:dial_plan_edit", args=[did.dial_plan_id]))
    if (
        did.provider_id is not None
        and Provider.objects.visible_to(viewer).filter(pk=did.provider_id).exists()
    ):
        add("provider", reverse("catalog:provider_edit", args=[did.provider_id]))
    return links


def _page_size(request: HttpRequest) -> int:
    value = request.GET.get("per_page", "")
    size = int(value) if value.isdigit() and len(value) < 6 else request.user.items_per_page
    return max(1, min(size, MAX_PAGE_SIZE))


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "")
    return max(1, int(value)) if value.isdigit() and len(value) < 10 else 1


def _did_url(pk: int, query: QueryDict, page: int) -> str:
    query = query.copy()
    if page > 1:
        query["page"] = str(page)
    else:
        query.pop("page", None)
    encoded = query.urlencode()
    return reverse("dids:detail", args=[pk]) + (f"?{encoded}" if encoded else "")


def list_neighbours(request: HttpRequest, did: Did) -> dict[str, str | None]:
    """The DIDs before and after this one in the list it was opened from, or None.

    Only the ids around the list's page are read (the page, and one row on each side),
    in the list's own order: its filters, window, Hide terminated state and sort.
    """
    none: dict[str, str | None] = {"previous_url": None, "next_url": None}
    viewer: User = request.user
    filterset = DidFilterSet(
        listing_query(request), visible_dids(viewer), request=request, account=viewer
    )
    if filterset.error_messages():
        return none
    dids = filterset.windowed()
    sort = request.GET.get("sort")
    if sort:
        table = DidTable(dids, viewer=viewer)
        table.order_by = sort
        dids = table.data.data
    size, page = _page_size(request), _page_number(request)
    start = (page - 1) * size
    low = max(start - 1, 0)
    ids = list(dids.values_list("pk", flat=True)[low : start + size + 1])
    if did.pk not in ids:
        return none
    index = ids.index(did.pk)
    query = request.GET.copy()
    result = dict(none)
    if index > 0:
        position = low + index - 1
        result["previous_url"] = _did_url(ids[index - 1], query, position // size + 1)
    if index + 1 < len(ids):
        position = low + index + 1
        result["next_url"] = _did_url(ids[index + 1], query, position // size + 1)
    return result


def did_page_context(request: HttpRequest, did: Did) -> dict[str, Any]:
    """The breadcrumb back to the list (with its query) and the previous/next DID."""
    query = request.GET.urlencode()
    return {
        "list_url": reverse("dids:list") + (f"?{query}" if query else ""),
        **list_neighbours(request, did),
    }
