"""The one view of every DID write method, and the write envelope (did_methods.md §2.1).

DRF does the plumbing as for dids_get: `ApiHashAuthentication` (checks 1-5, the
same settings chain and throttling counters), `CanCallApiMethod` (check 6), then
the method's own checks. The view names the method's hashed parameters
(`hashed_parameters`), which the authentication reads; every refusal becomes
`<page><status><error>TEXT</error></status></page>` with HTTP 200 (429 when
throttled, 405 for a method other than GET and POST).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBase
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api_hash import HashedParameters
from accounts.authentication import (
    ACCESS_DENIED,
    ApiAuthenticationFailed,
    ApiHashAuthentication,
    ApiRefusal,
    TooManyFailedAttempts,
    client_address,
    is_test_request,
)
from accounts.permissions import CanCallApiMethod
from dids.services import dids_release_expired

from ..parsers import ContractJSONParser
from ..renderers import DECLARATION, xml_text
from .base import Call, Element, Success, WriteMethod
from .values import Parameters

METHOD_NOT_ALLOWED = "Method not allowed"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


# --- The envelope ---------------------------------------------------------------


def _elements(elements: tuple[Element, ...], depth: int, pretty: bool) -> Iterator[str]:
    indent = "  " * depth if pretty else ""
    nl = "\n" if pretty else ""
    for tag, value in elements:
        if isinstance(value, tuple):
            yield f"{indent}<{tag}>{nl}"
            yield from _elements(value, depth + 1, pretty)
            yield f"{indent}</{tag}>{nl}"
        else:
            yield f"{indent}<{tag}>{xml_text(value)}</{tag}>{nl}"


def xml_document(elements: tuple[Element, ...], *, pretty: bool = False) -> str:
    """`<?xml …?><page>…</page>`, without whitespace between elements unless pretty."""
    nl = "\n" if pretty else ""
    return f"{DECLARATION}{nl}" + "".join(_elements((("page", elements),), 0, pretty))


def error_elements(text: str) -> tuple[Element, ...]:
    return (("status", (("error", text),)),)


def success_elements(success: Success, *, test: bool) -> tuple[Element, ...]:
    if success.nested:
        return (("status", (("status", success.text),)),)
    extra = success.test_extra if test and success.test_extra is not None else success.extra
    return (("status", (("success", success.text),)), *extra)


def test_page(document: str, title: str) -> str:
    """`test=1`: the pretty-printed XML, HTML-escaped, in a small page a browser shows."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><pre>"
        f"{html.escape(document, quote=False)}</pre></body></html>\n"
    )


def write_response(
    elements: tuple[Element, ...], *, test: bool, title: str, status: int = 200
) -> HttpResponse:
    document = xml_document(elements, pretty=test)
    body = test_page(document, title) if test else document
    response = HttpResponse(
        body.encode("utf-8"),
        status=status,
        content_type=HTML_CONTENT_TYPE if test else XML_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


def write_error_response(
    text: str, *, test: bool = False, title: str = "API", status: int = 200
) -> HttpResponse:
    return write_response(error_elements(text), test=test, title=title, status=status)


def method_not_allowed(*, test: bool, title: str) -> HttpResponse:
    response = write_error_response(METHOD_NOT_ALLOWED, test=test, title=title, status=405)
    response["Allow"] = "GET, POST"
    return response


def write_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's refusals in the write envelope; anything else stays a server error."""
    request = context["request"]
    view = context["view"]
    test = is_test_request(request)
    title = view.method.name
    if isinstance(exc, exceptions.MethodNotAllowed):
        return method_not_allowed(test=test, title=title)
    if isinstance(exc, TooManyFailedAttempts):
        response = write_error_response(exc.text, test=test, title=title, status=429)
        response["Retry-After"] = str(max(1, int(exc.wait or 1)))
        return response
    if isinstance(exc, ApiRefusal | ApiAuthenticationFailed):
        text = exc.text
    elif isinstance(exc, exceptions.NotAuthenticated):
        text = ACCESS_DENIED  # deny by default: no account was established
    elif isinstance(exc, exceptions.PermissionDenied):
        text = str(exc.detail)
    else:
        return None
    return write_error_response(text, test=test, title=title)


# --- The view -------------------------------------------------------------------


class _ContractNegotiation(DefaultContentNegotiation):
    """The contract fixes the response format: the Accept header neither changes it
    nor causes a 406."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class _XMLRenderer(BaseRenderer):
    """Names the response format for DRF's negotiation; the view renders its own
    documents (small, fixed shapes)."""

    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        raise NotImplementedError  # never called: the view returns finished responses


class WriteMethodView(APIView):
    """A write method at `/billing/api/<name>` (and, through the dispatch, with `action`)."""

    authentication_classes = [ApiHashAuthentication]
    parser_classes = [ContractJSONParser, FormParser, MultiPartParser]
    renderer_classes = [_XMLRenderer]
    content_negotiation_class = _ContractNegotiation
    throttle_classes: list = []
    http_method_names = ["get", "post"]
    method: WriteMethod | None = None  # set per URL: as_view(method=…)

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # Public (no sign-in, no session, no CSRF: DRF's as_view is csrf_exempt);
        # the `u`/`hash` scheme authenticates every request.
        return login_not_required(super().as_view(**initkwargs))

    @property
    def hashed_parameters(self) -> HashedParameters:
        """Read by ApiHashAuthentication: the parameters this method hashes (§3.2)."""
        return self.method.hashed_parameters

    def get_permissions(self) -> list:
        return [CanCallApiMethod(self.method.name)]

    def get_exception_handler(self) -> Callable[..., HttpResponse | None]:
        return write_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: an unknown HTTP method costs no account lookup and
        # counts as no failed attempt.
        if request.method not in ("GET", "POST"):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> HttpResponse:
        return self.answer(request)

    def post(self, request: Request) -> HttpResponse:
        return self.answer(request)

    def answer(self, request: Request) -> HttpResponse:
        call = Call(
            caller=request.user,
            params=Parameters(request),
            address=client_address(request),
            test=is_test_request(request),
        )
        # §7.4: closed DIDs past their date are released before a method evaluates one,
        # as before a listing (and kept released should the method then refuse).
        dids_release_expired()
        success = self.method.run(call)
        return write_response(
            success_elements(success, test=call.test), test=call.test, title=self.method.name
        )
