# ruff: noqa: S101  (assertions are what test helpers are for)
"""Helpers for tests of the write methods: call one, read its answer in its envelope.

Every response is parsed with defusedxml's strict parser and its envelope checked
exactly (did_methods.md §2.1): `<page><status><error|success>TEXT</…></status>…`,
or did_delete's `<page><status><status>TEXT</status></status></page>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from django.http import HttpResponseBase
from django.test import Client

from accounts.api_hash import api_hash

from ..testing import XML_DECLARATION, body_of
from . import hashed_parameters_of

API_URL = "/billing/api/"


def method_url(method: str) -> str:
    return f"{API_URL}{method}"


def hash_for(method: str, params: Mapping[str, str], secret: str) -> str:
    """The hash the method expects for these parameters (its declared hashed parameters).
    Values that are not text (JSON `true`, numbers given as such) enter no hash."""
    text = {name: value for name, value in params.items() if isinstance(value, str)}
    return api_hash(text, secret, hashed_parameters_of(method))


def call_method(
    client: Client,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    secret: str | None = "secret",  # noqa: S107 (the tests' API secret key)
    http: str = "post",
    url: str | None = None,
    **extra: Any,
) -> HttpResponseBase:
    """POST (or GET) the parameters to `/billing/api/<method>`, with the right hash
    for `secret` unless `hash` is given or `secret` is None."""
    data = dict(params or {})
    if secret is not None and "hash" not in data:
        data["hash"] = hash_for(method, data, secret)
    url = url or method_url(method)
    if http == "get":
        response = client.get(url, data, **extra)
    elif http == "json":
        response = client.post(url, data, content_type="application/json", **extra)
    else:
        response = getattr(client, http)(url, data, **extra)
    body_of(response)
    return response


def page_of(response: HttpResponseBase) -> Element:
    """The response's XML, checked: content type, declaration, well-formed, `<page>`."""
    body = body_of(response)
    assert response["Content-Type"] == "text/xml; charset=utf-8", response["Content-Type"]
    assert body.startswith(XML_DECLARATION), body[:80]
    assert b"\n" not in body, body  # no whitespace between elements
    root = fromstring(body)
    assert root.tag == "page"
    return root


def outcome_of(response: HttpResponseBase) -> tuple[str, str]:
    """(`error`, TEXT), (`success`, TEXT) or (`status`, TEXT) for did_delete's success,
    asserting the write envelope: one `<status>` first, holding exactly one element."""
    assert response.status_code in (200, 405, 429), response.status_code
    root = page_of(response)
    status = root[0]
    assert status.tag == "status", [child.tag for child in root]
    assert len(status) == 1, [child.tag for child in status]
    (inner,) = status
    assert inner.tag in ("error", "success", "status"), inner.tag
    assert len(inner) == 0
    if inner.tag == "error":
        assert len(root) == 1, [child.tag for child in root]
    return inner.tag, inner.text or ""


def error_of(response: HttpResponseBase) -> str | None:
    """The error text, or None when the method succeeded."""
    kind, text = outcome_of(response)
    return text if kind == "error" else None


def success_of(response: HttpResponseBase) -> str | None:
    kind, text = outcome_of(response)
    return text if kind in ("success", "status") else None


def extra_of(response: HttpResponseBase) -> list[tuple[str, Any]]:
    """The elements after `</status>`, as (tag, text) or (tag, [(tag, text), …])."""
    root = page_of(response)
    return [
        (el.tag, [(c.tag, c.text or "") for c in el] if len(el) else el.text or "")
        for el in root[1:]
    ]
