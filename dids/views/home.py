"""The home page (`/`): the viewer's inventory at a glance, and the number blocks.

Both count only what `Did.objects.visible_to(viewer)` returns, and every number links
to the DIDs list showing exactly the DIDs it counts (dids.overview).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from accounts.models import User

from ..models import Did
from ..overview import (
    DEFAULT_DIGITS,
    MAX_DIGITS,
    MIN_DIGITS,
    RELEASE_DAYS,
    TooManyBlocks,
    number_blocks,
    overview,
)
from ..services import dids_release_expired
from .common import CanReadDidsMixin


def visible(account: User):
    """The viewer's DIDs, expired closed DIDs released first (as every DIDs page does)."""
    dids_release_expired()
    return Did.objects.visible_to(account)


class HomeView(View):
    """Every signed-in account lands here. An accountant whose group lacks *Manage DIDs*
    gets a page saying what it may do instead of the DIDs list's 403."""

    def get(self, request: HttpRequest) -> HttpResponse:
        viewer: User = request.user
        context: dict[str, Any] = {"title": "Overview", "release_days": RELEASE_DAYS}
        if not viewer.can_read_dids:
            return render(request, "dids/home_without_dids.html", context)
        context["overview"] = overview(viewer, visible(viewer))
        context["list_title"] = "Personal DIDs" if viewer.is_end_user else "DIDs"
        return render(request, "dids/home.html", context)


class BlocksForm(forms.Form):
    digits = forms.IntegerField(
        label="Prefix length",
        min_value=MIN_DIGITS,
        max_value=MAX_DIGITS,
        required=False,
        help_text=f"Group the DIDs by their first {MIN_DIGITS} to {MAX_DIGITS} characters.",
    )


class _Counted:
    """One page of groups that already knows how many groups there are (Paginator's input)."""

    def __init__(self, rows: list, total: int, offset: int) -> None:
        self.rows, self.total, self.offset = rows, total, offset

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: slice) -> list:
        return self.rows[index.start - self.offset : index.stop - self.offset]


class BlocksView(CanReadDidsMixin, View):
    """Number blocks: the viewer's DIDs grouped by a prefix, per status, by utilisation."""

    def get(self, request: HttpRequest) -> HttpResponse:
        viewer: User = request.user
        form = BlocksForm(request.GET or None)
        digits = DEFAULT_DIGITS
        context: dict[str, Any] = {"title": "Number blocks", "form": form}
        if form.is_bound and not form.is_valid():
            context["digits"] = digits
            return render(request, "dids/blocks.html", context, status=400)
        if form.is_bound and form.cleaned_data["digits"]:
            digits = form.cleaned_data["digits"]
        per_page = viewer.items_per_page
        try:
            number = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            number = 1
        dids = visible(viewer)
        try:
            blocks, total = number_blocks(
                dids, digits=digits, offset=(number - 1) * per_page, limit=per_page
            )
        except TooManyBlocks as error:
            context.update(digits=digits, too_many=str(error))
            return render(request, "dids/blocks.html", context, status=400)
        if not blocks and number > 1:
            # Past the end (or a crafted page): show the last page, as every list does.
            _, total = number_blocks(dids, digits=digits, offset=0, limit=1)
            number = max(1, -(-total // per_page))
            blocks, total = number_blocks(
                dids, digits=digits, offset=(number - 1) * per_page, limit=per_page
            )
        paginator = Paginator(_Counted(blocks, total, (number - 1) * per_page), per_page)
        page_obj = paginator.get_page(number)
        query = request.GET.copy()
        query.pop("page", None)
        query["digits"] = str(digits)
        context.update(
            digits=digits,
            page_obj=page_obj,
            page_range=list(paginator.get_elided_page_range(number, on_each_side=2, on_ends=1)),
            query=query.urlencode(),
            noun="block",
            plural="blocks",
            list_title="Personal DIDs" if viewer.is_end_user else "DIDs",
        )
        return render(request, "dids/blocks.html", context)
