"""The portal's own middleware: requests it refuses before any view reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .charset import DECLARED_CHARSET, SHOWN_LENGTH, refused_charset
from .errors import bad_request_response
from .text import is_valid_text

INVALID_CHARSET_API = "Invalid charset: expected utf-8"


class Utf8OnlyMiddleware:
    """Refuses a request that declares a charset other than UTF-8, before it is read.

    At the end of MIDDLEWARE: the response passes every other middleware (security
    headers, CSP, X-Frame-Options), and nothing before it reads the query or the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        charset = request.META.get(DECLARED_CHARSET) or refused_charset(
            request.META.get("CONTENT_TYPE", "")
        )
        if charset is not None:
            shown = charset[:SHOWN_LENGTH] or "(empty)"
            return bad_request_response(
                request,
                api_text=INVALID_CHARSET_API,
                message=(
                    f"The request was sent in the character set “{shown}”; the portal "
                    "reads UTF-8 only. Nothing was changed."
                ),
            )
        return self.get_response(request)


class AdminTextMiddleware:
    """The Django admin passes its list filters' query values to the database as they
    are: a NUL there is a database error on PostgreSQL. Its pages refuse a query
    string that is not text (portal.text) with the portal's 400 page; its forms'
    fields refuse a NUL themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.prefix) and not all(
            is_valid_text(name) and all(is_valid_text(value) for value in values)
            for name, values in request.GET.lists()
        ):
            return bad_request_response(
                request,
                api_text="",  # never an API URL
                message=(
                    "A filter of this page holds a NUL character, which is not text. "
                    "Nothing was changed."
                ),
            )
        return self.get_response(request)
