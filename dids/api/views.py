"""`dids_get`, the MOR-compatible XML API method (docs/api-dids-get.md, dids_get.md).

DRF does the plumbing: `ApiHashAuthentication` (checks 1-5), the permission
classes (checks 6-7), the FilterSet (check 8). Every refusal is turned into the
contract's `<page><error>…</error></page>` with HTTP 200 (429 when throttled),
because MOR clients read the `<error>` element and many HTTP clients throw on 4xx.

A long list is streamed: rows come from a database iterator and leave as XML in
chunks, so memory does not grow with the number of DIDs, and the number of
queries is fixed whatever the number of rows. A page (at most one fetch of rows) is
read by its window of ids and sent as one body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.authentication import (
    ACCESS_DENIED,
    ApiAuthenticationFailed,
    ApiHashAuthentication,
    ApiRefusal,
    TooManyFailedAttempts,
    api_parameters,
    is_test_request,
)
from accounts.permissions import CanCallDidsGet, CanManageDids
from dids.filters import DidFilterSet
from dids.models import Did
from dids.presentation import did_rows, window_rows
from dids.services import dids_release_expired
from dids.streaming import CHUNK_SIZE, RowStream

from .parsers import ContractJSONParser
from .renderers import DidsXMLRenderer, html_test_page
from .serializers import DidSerializer

UNKNOWN_METHOD = "Unknown API method"
NO_DIDS = "No DIDs found"
METHOD_NOT_ALLOWED = "Method not allowed"

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


class ContractNegotiation(DefaultContentNegotiation):
    """The contract fixes the response format: the client's Accept header (and DRF's
    `format` override) must neither change it nor cause a 406."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None):
        renderer = renderers[0]
        return renderer, renderer.media_type


def _document_response(chunks: Iterator[str], *, test: bool, status: int = 200) -> HttpResponse:
    body = "".join(html_test_page(chunks) if test else chunks)
    response = HttpResponse(
        body.encode("utf-8"),
        status=status,
        content_type=HTML_CONTENT_TYPE if test else XML_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


def error_response(text: str, *, test: bool = False, status: int = 200) -> HttpResponse:
    """`<?xml …?><page><error>TEXT</error></page>` (pretty and in HTML with test=1)."""
    chunks = DidsXMLRenderer().document({"error": text}, pretty=test)
    return _document_response(chunks, test=test, status=status)


def contract_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's refusals as the contract's error documents; anything else stays a server error."""
    request = context["request"]
    status = 200
    if isinstance(exc, ApiRefusal | ApiAuthenticationFailed | TooManyFailedAttempts):
        text = exc.text
        if isinstance(exc, TooManyFailedAttempts):
            status = 429
    elif isinstance(exc, exceptions.NotAuthenticated):
        text = ACCESS_DENIED  # deny by default: no account was established
    elif isinstance(exc, exceptions.PermissionDenied):
        text = str(exc.detail)
    elif isinstance(exc, exceptions.MethodNotAllowed):
        # Not a contract error: a method the API does not have at all (test=1 still
        # applies, as to every answer).
        response = error_response(METHOD_NOT_ALLOWED, test=is_test_request(request), status=405)
        response["Allow"] = "GET, POST"
        return response
    else:
        return None
    response = error_response(text, test=is_test_request(request), status=status)
    if isinstance(exc, TooManyFailedAttempts):
        response["Retry-After"] = str(max(1, int(exc.wait or 1)))
    return response


class DidStream:
    """The response body: encoded chunks, and a close() that ends the row stream.

    The server calls close() when the response ends, also when the client goes
    away mid-stream; without it the server-side cursor (PostgreSQL, opened by the
    peek at the first row) and its transaction would stay open until the garbage
    collector got to them.
    """

    def __init__(self, chunks: Iterator[str], *, rows: RowStream) -> None:
        self.chunks = chunks
        self.rows = rows

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self.chunks).encode("utf-8")

    def close(self) -> None:
        self.rows.close()


class DidsGetView(APIView):
    """`dids_get` at `/billing/api/dids_get` and at `/billing/api/` with `action=dids_get`."""

    authentication_classes = [ApiHashAuthentication]
    permission_classes = [CanCallDidsGet, CanManageDids]
    parser_classes = [ContractJSONParser, FormParser, MultiPartParser]
    renderer_classes = [DidsXMLRenderer]
    content_negotiation_class = ContractNegotiation
    throttle_classes: list = []
    http_method_names = ["get", "post"]
    # True for `/billing/api/`: the method is named by the `action` parameter.
    by_action = False
    api_method = "dids_get"

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # Public (no sign-in, no session, no CSRF: DRF's as_view is csrf_exempt);
        # the `u`/`hash` scheme authenticates every request.
        return login_not_required(super().as_view(**initkwargs))

    def get_exception_handler(self) -> Callable[..., HttpResponse | None]:
        return contract_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: an unknown method costs no account lookup and
        # counts as no failed attempt.
        if request.method not in ("GET", "POST"):
            raise exceptions.MethodNotAllowed(request.method)
        if self.by_action and api_parameters(request).get("action") != self.api_method:
            raise ApiRefusal(UNKNOWN_METHOD)
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> HttpResponseBase:
        return self.dids_get(request)

    def post(self, request: Request) -> HttpResponseBase:
        return self.dids_get(request)

    def dids_get(self, request: Request) -> HttpResponseBase:
        caller = request.user
        filterset = DidFilterSet(
            api_parameters(request), queryset=Did.objects.visible_to(caller), account=caller
        )
        # 8: validated before anything is read or written.
        errors = filterset.error_messages()
        if errors:
            raise ApiRefusal(errors[0])

        # Closed DIDs past their date are released before they could be listed as closed.
        dids_release_expired()

        # Rows, not model instances: one query of the columns the elements need. A page
        # (at most one fetch of rows) reads them by the window's ids, in a statement
        # compiled once around them; more rows stream from the whole query.
        limit = filterset.window()[1]
        page = limit is not None and limit <= CHUNK_SIZE
        if page:
            dids = RowStream(window_rows(filterset.window_ids()), at_most=limit)
        else:
            dids = RowStream(did_rows(filterset.windowed(final=True)))
        # 9: peek at the first row, so that "nothing" is a proper error document
        # and not an empty list already half sent.
        try:
            first = next(dids, None)
        except BaseException:
            dids.close()
            raise
        if first is None:
            dids.close()
            raise ApiRefusal(NO_DIDS)

        test = is_test_request(request)
        serializer = DidSerializer(viewer=caller)
        elements = map(serializer.to_representation, chain([first], dids))
        chunks = DidsXMLRenderer().stream(elements, pretty=test)
        if page:
            # Its rows are all read already: one body, sent in one write with its length
            # (a stream of a few chunks costs a write and a chunk header each).
            return _document_response(chunks, test=test)
        if test:
            chunks = html_test_page(chunks)
        response = StreamingHttpResponse(
            DidStream(chunks, rows=dids),
            content_type=HTML_CONTENT_TYPE if test else XML_CONTENT_TYPE,
        )
        response["Cache-Control"] = "no-store"
        return response
