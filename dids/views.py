"""The DIDs pages: the list (with its filter panel and CSV export) and the DID page.

Every page starts from `Did.objects.visible_to(request.user)` and the list and the
export filter with the very `DidFilterSet` that `dids_get` uses, under the same
parameter names, so a `dids_get` query string after `/dids/` shows what the API
returns for the same account.

The *Hide terminated DIDs* rule (documented in docs/gui.md):
- a URL that carries `search_hide_terminated_dids` (non-empty) is obeyed as given;
- a URL without it uses the account's remembered preference (`User.hide_terminated_dids`);
- submitting the filter panel saves the checkbox's state as the new preference.
The panel is a POST form (CSRF-protected, since it writes the preference) that
redirects to the equivalent GET URL, which always carries the parameter explicitly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from accounts.models import User

from .exports import csv_blocks
from .filters import DidFilterSet
from .models import Did, DidHistory
from .presentation import did_elements, rfc3339, role_elements
from .services import dids_release_expired
from .tables import MAX_PAGE_SIZE, DidTable

# The API's text for the same denial (contract §3, check 7).
NOT_AUTHORISED = "You are not authorized to manage DIDs"
HIDE_TERMINATED = "search_hide_terminated_dids"
# Parameters of the list that are not dids_get's: they never reach the FilterSet's logic.
TABLE_PARAMETERS = ("sort", "page", "per_page")
PAGE_SIZE_CHOICES = (10, 25, 50, 100, 200, 500)


class CanReadDidsMixin:
    """Accounts without the right to read DIDs get a clear 403 page, not a 404.

    (An accountant whose group lacks *Manage DIDs*; anonymous visitors never get
    here, LoginRequiredMiddleware sends them to the sign-in page.)
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can_read_dids:
            return TemplateResponse(
                request,
                "dids/not_authorised.html",
                {"title": "Not authorised", "message": NOT_AUTHORISED},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


def listing_query(request: HttpRequest) -> QueryDict:
    """The request's parameters, with the account's Hide terminated preference filled in
    when the URL does not say (an empty value counts as absent, as in the API)."""
    data = request.GET.copy()
    if not data.get(HIDE_TERMINATED):
        data[HIDE_TERMINATED] = "1" if request.user.hide_terminated_dids else "0"
    return data


def visible_dids(account: User) -> QuerySet:
    """What every DIDs page starts from. Expired closed DIDs are released first, so that
    no page ever shows one as closed."""
    dids_release_expired()
    return Did.objects.visible_to(account).for_listing()


# One line under each field of the panel: what the dids_get parameter behind it matches
# (contract §4), so that nobody has to read the API's documentation to filter.
PANEL_HELP: dict[str, str] = {
    "search_did_number": "Part of the number, or a pattern with % and _.",
    "search_did_owner": "Part of the owner's name.",
    "search_dialplan": "0 = DIDs without a dial plan.",
    "search_user": "An end user's or a reseller's ID; 0 = DIDs without an end user.",
    "search_device": "0 = DIDs without a device.",
    "search_provider": "0 = DIDs without a provider.",
    "search_language": "Exact, e.g. en.",
    "from": "Position of the first DID to list (1 = the first), in DID number order.",
    "max_results": "List at most this many DIDs.",
}


def panel_field_names(viewer: User) -> list[str]:
    """The filter panel's text/select fields for a role: the ones its role does not
    ignore (the FilterSet still validates the others when they come in the URL)."""
    names = [name for name in DidFilterSet.base_filters if name != HIDE_TERMINATED]
    if not viewer.may_filter_by_provider:
        names.remove("search_provider")
    if viewer.is_end_user:
        names.remove("search_dialplan")
        # Every DID a user sees is its own: filtering by owner or by user picks all or none.
        names.remove("search_did_owner")
        names.remove("search_user")
    return names


class PageSizeForm(forms.Form):
    items_per_page = forms.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE)


class DidListView(CanReadDidsMixin, SingleTableMixin, FilterView):
    """The DIDs list; for role *user* the same page is its "Personal DIDs"."""

    filterset_class = DidFilterSet
    table_class = DidTable
    template_name = "dids/did_list.html"

    def get_queryset(self) -> QuerySet:
        return visible_dids(self.request.user)

    def get_filterset_kwargs(self, filterset_class: type[DidFilterSet]) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = listing_query(self.request)
        kwargs["account"] = self.request.user
        return kwargs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.filterset = self.get_filterset(self.get_filterset_class())
        self.object_list = self.filterset.windowed()
        context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
        return self.render_to_response(context)

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"viewer": self.request.user}

    def get_table_pagination(self, table: DidTable) -> dict[str, Any]:
        return {"per_page": self.request.user.items_per_page}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        form = self.filterset.form
        query = listing_query(self.request)
        for name in ("page", "per_page"):
            query.pop(name, None)
        context.update(
            title="Personal DIDs" if user.is_end_user else "DIDs",
            filter_errors=self.filterset.error_messages(),
            panel_fields=[
                (form[name], PANEL_HELP.get(name, "")) for name in panel_field_names(user)
            ],
            hide_terminated=query.get(HIDE_TERMINATED) == "1",
            sort=self.request.GET.get("sort", ""),
            export_url=f"{reverse('dids:export')}?{query.urlencode()}",
            current_query=query.urlencode(),
            page_sizes=sorted({*PAGE_SIZE_CHOICES, user.items_per_page}),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("action") == "page_size":
            return self._save_page_size(request)
        return self._apply_filters(request)

    def _apply_filters(self, request: HttpRequest) -> HttpResponse:
        """Save the Hide terminated state and go to the GET URL of the submitted filters."""
        # A browser sends a checkbox only when it is ticked.
        hide = bool(request.POST.get(HIDE_TERMINATED))
        if request.user.hide_terminated_dids != hide:
            request.user.hide_terminated_dids = hide
            request.user.save(update_fields=["hide_terminated_dids"])
        params: list[tuple[str, str]] = []
        for name in DidFilterSet.base_filters:
            value = request.POST.get(name, "")
            if name != HIDE_TERMINATED and value:
                params.append((name, value))
        params.append((HIDE_TERMINATED, "1" if hide else "0"))
        if request.POST.get("sort"):
            params.append(("sort", request.POST["sort"]))
        return HttpResponseRedirect(f"{reverse('dids:list')}?{urlencode(params)}")

    def _save_page_size(self, request: HttpRequest) -> HttpResponse:
        form = PageSizeForm(request.POST)
        # Only the path is ours to choose; the query string is re-encoded, never a new URL.
        query = QueryDict(request.POST.get("query", ""), mutable=True)
        for name in ("page", "per_page"):
            query.pop(name, None)
        if form.is_valid():
            request.user.items_per_page = form.cleaned_data["items_per_page"]
            request.user.save(update_fields=["items_per_page"])
            messages.success(request, f"Showing {request.user.items_per_page} DIDs per page.")
        else:
            messages.error(
                request, f"Items per page must be a whole number from 1 to {MAX_PAGE_SIZE}."
            )
        return HttpResponseRedirect(f"{reverse('dids:list')}?{query.urlencode()}")


class DidExportView(CanReadDidsMixin, View):
    """Every DID that the list with the same parameters matches, as CSV, in the list's order."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = DidFilterSet(
            listing_query(request),
            visible_dids(request.user),
            request=request,
            account=request.user,
        )
        errors = filterset.error_messages()
        if errors:
            return HttpResponseBadRequest(
                "\n".join(errors), content_type="text/plain; charset=utf-8"
            )
        dids = filterset.windowed()
        sort = request.GET.get("sort")
        if sort:
            # The table knows how to sort by each column; reuse it, without paginating.
            table = DidTable(dids, viewer=request.user)
            table.order_by = sort
            dids = table.data.data
        response = StreamingHttpResponse(
            csv_blocks(dids, request.user), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="dids-{stamp}.csv"'
        return response


# Labels of the DID page, in the contract's element order; `did_number` and
# `did_status` repeat `did` and `status` and are left out.
DETAIL_LABELS: dict[str, str] = {
    "did": "DID",
    "id": "ID",
    "status": "Status",
    "provider": "Provider",
    "reseller": "Reseller",
    "owner": "Owner",
    "user_id": "End user ID",
    "device": "Device",
    "device_id": "Device ID",
    "dial_plan": "Dial plan",
    "language": "Language",
    "simultaneous_call_limit": "Call limit",
    "tone_zone": "Tone zone",
    "comment": "Comment",
    "ai_agent_compatible": "AI-agent compatible",
    "routes_to_openai_project_id": "VoiceAI routing target",
    "reserved_for_user_till": "Reserved for user till",
    "updated_at": "Updated",
}

# The API's words for a flag are `true`/`false`; a person reads Yes/No.
DETAIL_FLAG_TEXT: dict[str, str] = {"true": "Yes", "false": "No"}
DETAIL_FLAGS = frozenset({"ai_agent_compatible"})

# History keys that name an element a role may not see: hidden from that role's history.
HISTORY_KEYS_OF_ELEMENT: dict[str, tuple[str, ...]] = {
    "provider": ("provider", "provider_id"),
    "reseller": ("reseller", "reseller_id"),
    "dial_plan": ("dial_plan", "dial_plan_id"),
    "tone_zone": ("tone_zone",),
}


def hidden_history_keys(viewer: User) -> frozenset[str]:
    allowed = role_elements(viewer)
    hidden = {
        key for el, keys in HISTORY_KEYS_OF_ELEMENT.items() if el not in allowed for key in keys
    }
    # Each side sees only the comment it writes, in history as in the API.
    hidden.add("comment" if viewer.writes_reseller_comment else "reseller_comment")
    if viewer.is_end_user:
        hidden |= {"grace_time", "callerid_name_prefix"}
    return frozenset(hidden)


def history_actor(entry: DidHistory, viewer: User) -> str:
    """Who made a change, as the viewer may know it.

    Operators (admins, accountants) see every name. A reseller or a user sees the
    names of its own circle (itself, its reseller, its reseller's users) and only
    the kind of account for anyone else.
    """
    by = entry.by
    if by is None:
        return "System"
    if viewer.sees_all_dids:
        return by.display_name
    if by.pk == viewer.pk:
        return by.display_name
    circle_owner = viewer if viewer.is_reseller else viewer.owner
    if circle_owner is not None and circle_owner.pk in (by.pk, by.owner_id):
        return by.display_name
    return "Operator" if by.is_admin or by.is_accountant else "Another account"


def format_change(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


class DidDetailView(CanReadDidsMixin, DetailView):
    """A DID's page, read-only: what the viewer's role may see, and the DID's history."""

    template_name = "dids/did_detail.html"
    context_object_name = "did"

    def get_queryset(self) -> QuerySet:
        # Outside the viewer's visibility the DID does not exist for it: a 404.
        return visible_dids(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        did: Did = self.object
        viewer: User = self.request.user
        elements = did_elements(did, viewer)
        fields = [
            (label, DETAIL_FLAG_TEXT[elements[name]] if name in DETAIL_FLAGS else elements[name])
            for name, label in DETAIL_LABELS.items()
            if name in elements
        ]
        if "comment" in elements and viewer.writes_reseller_comment:
            fields = [
                ("Reseller comment", value) if label == "Comment" else (label, value)
                for label, value in fields
            ]
        fields.append(("Created", rfc3339(did.created_at)))
        if not viewer.is_end_user:
            fields.append(("Grace time (seconds)", str(did.grace_time)))
            fields.append(("CallerID name prefix", did.callerid_name_prefix))
        hidden = hidden_history_keys(viewer)
        history = [
            {
                "at": entry.at,
                "by": history_actor(entry, viewer),
                "source": entry.get_source_display(),
                "action": entry.action,
                "changes": [
                    (key, format_change(change[0]), format_change(change[1]))
                    if isinstance(change, list | tuple) and len(change) == 2
                    else (key, "", format_change(change))
                    for key, change in (entry.changes or {}).items()
                    if key not in hidden
                ],
            }
            for entry in did.history.select_related("by")
        ]
        context.update(
            title=f"DID {did.number}",
            list_title="Personal DIDs" if viewer.is_end_user else "DIDs",
            fields=fields,
            history=history,
        )
        return context
