"""A test client with the portal's WSGI wrapper in front, as portal/wsgi.py serves it.

Django's test client builds its request from the environ directly; the portal's
WSGI application first takes a declared charset out of Content-Type
(portal.charset). Tests of what a client may send use this client, so that they
see what a real server answers.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.test.client import ClientHandler

from portal.charset import take_charset_out


class PortalClientHandler(ClientHandler):
    def __call__(self, environ: dict[str, Any]) -> Any:
        take_charset_out(environ)
        return super().__call__(environ)


class PortalClient(Client):
    def __init__(self, enforce_csrf_checks: bool = False, **defaults: Any) -> None:
        super().__init__(enforce_csrf_checks, **defaults)
        self.handler = PortalClientHandler(enforce_csrf_checks)
