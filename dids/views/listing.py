"""The DIDs list, with its filter panel.

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

from contextlib import nullcontext
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from accounts.models import User

from ..bulk import BulkAction, offered_actions
from ..filters import DidFilterSet
from ..paging import DidPaginator
from ..presentation import did_rows
from ..streaming import fixed_join_order
from ..tables import MAX_PAGE_SIZE, DidTable
from .common import HIDE_TERMINATED, CanReadDidsMixin, listing_query, visible_dids

PAGE_SIZE_CHOICES = (10, 25, 50, 100, 200, 500)

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
        # Rows, not model instances (dids.presentation.did_rows): only the columns the
        # list shows, not the ~80 of each account behind a DID (password hashes included).
        return did_rows(visible_dids(self.request.user))

    def get_filterset_kwargs(self, filterset_class: type[DidFilterSet]) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = listing_query(self.request)
        kwargs["account"] = self.request.user
        return kwargs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Read-only; in a transaction so that the page's joins keep their written order
        # (dids.streaming.fixed_join_order), rendered inside it (the rows are read then).
        postgresql = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
        with transaction.atomic(savepoint=False) if postgresql else nullcontext():
            self.filterset = self.get_filterset(self.get_filterset_class())
            self.object_list = self.filterset.windowed()
            fixed_join_order(self.object_list)
            context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
            return self.render_to_response(context).render()

    @cached_property
    def bulk_actions(self) -> list[BulkAction]:
        return offered_actions(self.request.user)

    def get_table_kwargs(self) -> dict[str, Any]:
        # Checkboxes only for those offered a bulk action (dids.views.bulk).
        return {"viewer": self.request.user, "selectable": bool(self.bulk_actions)}

    def get_table_pagination(self, table: DidTable) -> dict[str, Any]:
        return {"per_page": self.request.user.items_per_page, "paginator_class": DidPaginator}

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
            bulk_actions=self.bulk_actions,
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
