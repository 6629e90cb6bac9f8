# ruff: noqa: S101  (assertions are what test helpers are for)
"""Helpers for tests that call `dids_get` through Django's test client and read its XML.

Every response is parsed with defusedxml's strict parser: a response that is not
well-formed XML fails the test that reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from django.http import HttpResponseBase
from django.test import Client

DIDS_GET_URL = "/billing/api/dids_get"
DISPATCH_URL = "/billing/api/"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 (the legacy contract's hash)


SECRET_HASH = sha1("secret")  # e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4


def body_of(response: HttpResponseBase) -> bytes:
    """The whole body, streamed or not (a streamed body can be read only once: kept)."""
    if not hasattr(response, "_body_read"):
        response._body_read = response.getvalue()
    return response._body_read


def call(
    client: Client,
    params: Mapping[str, Any] | None = None,
    *,
    method: str = "post",
    url: str = DIDS_GET_URL,
    **extra: Any,
) -> HttpResponseBase:
    """POST (form body) or GET (query string) the parameters; the body is read at once.

    Reading it at once matters: an unread streamed response keeps its database
    cursor open until garbage collection, which may close it inside a later
    test's transaction (on PostgreSQL that aborts the later test's transaction).
    """
    if method == "get":
        response = client.get(url, params or {}, **extra)
    else:
        response = client.post(url, params or {}, **extra)
    body_of(response)
    return response


def document(response: HttpResponseBase) -> Element:
    """The response's XML, checked: 200/429, content type, declaration, well-formed."""
    body = body_of(response)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert body.startswith(XML_DECLARATION), body[:80]
    root = fromstring(body)
    assert root.tag == "page"
    return root


def error_of(response: HttpResponseBase) -> str | None:
    """The `<error>` text, or None for a list of DIDs. Asserts the exact envelope."""
    root = document(response)
    error = root.find("error")
    if error is None:
        assert [child.tag for child in root] == ["dids"]
        return None
    assert [child.tag for child in root] == ["error"]
    assert len(error) == 0
    return error.text or ""


def rows_of(response: HttpResponseBase) -> list[list[tuple[str, str]]]:
    """Every `<did>` as its list of (tag, text), in document order."""
    assert response.status_code == 200
    root = document(response)
    assert root.find("error") is None, fromstring(body_of(response)).find("error").text
    (dids,) = list(root)
    assert dids.tag == "dids"
    rows = []
    for did in dids:
        assert did.tag == "did"
        assert all(len(child) == 0 for child in did)
        rows.append([(child.tag, child.text or "") for child in did])
    return rows


def ids_of(response: HttpResponseBase) -> list[int]:
    return [int(dict(row)["id"]) for row in rows_of(response)]
