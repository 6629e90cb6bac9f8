"""The CSV export of the DIDs list: every DID the list with the same parameters matches."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views import View

from ..exports import csv_blocks
from ..filters import DidFilterSet
from ..tables import DidTable
from .common import CanReadDidsMixin, listing_query, visible_dids


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
