"""Requests are read as UTF-8 only: a request that declares another charset is refused.

Django decodes a request's query string and form body with the charset that its
`Content-Type` declares. A charset other than UTF-8 then fails in ways that escape
its error handling: a codec that is not a text encoding (`rot13`, `hex`, `base64`)
raises while Django builds the request, before any middleware, whenever there is a
query string; a text encoding other than UTF-8 (`iso-8859-1`, `utf-16`,
`windows-1252`) makes every read of a form body raise again inside the error page,
so the server answers a bare 500. Browsers always send the portal's forms as UTF-8
and MOR clients send ASCII, so another charset is refused outright:

- `Utf8OnlyApplication` (around the WSGI application, portal/wsgi.py) takes the
  `charset` parameter out of `Content-Type` before Django sees it and, when it is
  not UTF-8, notes it in the environ;
- `portal.middleware.Utf8OnlyMiddleware` refuses such a request before anything
  reads it: a 400 page
  in the portal's layout for the GUI, the contract's XML error (HTTP 200) for the API.
  It reads the header itself too, for requests that do not come through the WSGI
  wrapper (the test client).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from typing import Any

# The environ key under which the wrapper leaves a refused charset for the middleware.
DECLARED_CHARSET = "portal.declared_charset"

_CHARSET_PARAMETER = re.compile(r";\s*charset\s*=\s*(\"[^\"]*\"|[^;]*)", re.IGNORECASE)
# A charset is named back to the person on the 400 page: never more than this.
SHOWN_LENGTH = 40


def is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


def declared_charsets(content_type: str) -> list[str]:
    """Every `charset` parameter of a Content-Type header, unquoted."""
    return [
        match.group(1).strip().strip('"') for match in _CHARSET_PARAMETER.finditer(content_type)
    ]


def refused_charset(content_type: str) -> str | None:
    """The first declared charset that is not UTF-8, or None."""
    for charset in declared_charsets(content_type):
        if not is_utf8(charset):
            return charset
    return None


def take_charset_out(environ: dict[str, Any]) -> None:
    """Remove `charset` from CONTENT_TYPE (UTF-8 is what Django reads without one) and
    note a charset that is not UTF-8 under DECLARED_CHARSET."""
    content_type = environ.get("CONTENT_TYPE", "")
    if "charset" not in content_type.lower():
        return
    refused = refused_charset(content_type)
    environ["CONTENT_TYPE"] = _CHARSET_PARAMETER.sub("", content_type)
    if refused is not None:
        environ[DECLARED_CHARSET] = refused


class Utf8OnlyApplication:
    """WSGI middleware: see the module's docstring."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        take_charset_out(environ)
        return self.application(environ, start_response)
