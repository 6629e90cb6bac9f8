"""One pager for every list of the portal but the DIDs list (which django-tables2 pages):
the same page links, ellipses and count, at the account's *Items per page*."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest

# A crafted `page` far beyond the end shows the last page, as Paginator.get_page does.


def query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


def pager_context(
    request: HttpRequest, rows: Any, *, noun: str, plural: str, per_page: int | None = None
) -> dict[str, Any]:
    """`page_obj`, `page_range`, `query`, `noun` and `plural` for templates/portal/_pager.html."""
    size = per_page or getattr(request.user, "items_per_page", 50) or 50
    page_obj = Paginator(rows, size).get_page(request.GET.get("page"))
    return {
        "page_obj": page_obj,
        "page_range": list(
            page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1)
        ),
        "query": query_without(request),
        "noun": noun,
        "plural": plural,
    }
