"""The API's error answer for a request that never reaches an API view.

A request to `/billing/api/…` that the portal refuses before any view runs (a
charset that is not UTF-8, a body Django cannot read) is still answered in the
contract's words: an XML error document with HTTP 200, in the envelope of the
method the URL names, pretty and in HTML with `test=1`. `api_error_response`
decides all of that for a request; nothing here reads the request's body or
decodes its query string with the declared charset (either may be what failed).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse

from .renderers import DidsXMLRenderer, html_test_page

API_PREFIX = "/billing/api"

# The elements around an error's text, inside <page>, per API method. dids_get (and
# `/billing/api/` for a method it does not know) answers <page><error>…</error></page>;
# a method whose contract answers <page><status><error>…</error></status></page>
# registers ("status", "error") here.
DEFAULT_ENVELOPE: tuple[str, ...] = ("error",)
ERROR_ENVELOPES: dict[str, tuple[str, ...]] = {"dids_get": DEFAULT_ENVELOPE}

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


def is_api_request(request: HttpRequest) -> bool:
    path = request.path_info
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _query(request: HttpRequest) -> dict[str, str]:
    """The query string's parameters, read as UTF-8 whatever the request declares
    (the last value of a repeated name, as everywhere in the API)."""
    raw = request.META.get("QUERY_STRING", "")
    return dict(parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace"))


def api_method_of(request: HttpRequest) -> str:
    """The method that the URL names: `/billing/api/<method>`, or `action` in the query
    string for `/billing/api/` (a body may be unreadable here, so only the URL counts)."""
    named = request.path_info[len(API_PREFIX) :].strip("/")
    return named or _query(request).get("action", "")


WRITE_ENVELOPE: tuple[str, ...] = ("status", "error")


def error_envelope(method: str) -> tuple[str, ...]:
    # Imported here: the write methods import the renderers this module shares.
    from .methods import BY_NAME

    if method in BY_NAME:  # every write method and alias (did_methods.md §2.1)
        return WRITE_ENVELOPE
    return ERROR_ENVELOPES.get(method, DEFAULT_ENVELOPE)


def api_error_response(request: HttpRequest, text: str, *, status: int = 200) -> HttpResponse:
    """The contract's error document for this API request, with TEXT in its method's
    envelope; HTTP 200 unless told otherwise (MOR clients read the `<error>` element)."""
    data: Any = text
    for tag in reversed(error_envelope(api_method_of(request))):
        data = {tag: data}
    test = _query(request).get("test") == "1"
    chunks = DidsXMLRenderer().document(data, pretty=test)
    body = "".join(html_test_page(chunks) if test else chunks)
    response = HttpResponse(
        body.encode("utf-8"),
        status=status,
        content_type=HTML_CONTENT_TYPE if test else XML_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response
