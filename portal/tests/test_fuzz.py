"""Fuzz: random bytes, charsets and parameter shapes sent to every page and the API, for
every role. No answer is a server error or a traceback, and no role ever sees a DID
outside `Did.objects.visible_to` (in the list, the export, a DID's page or the API).

Requests go through `PortalClient`, i.e. the portal's WSGI wrapper, as a real server
runs it; CSRF is not enforced so that random POSTs reach the views. Run it longer with
PORTAL_FUZZ_EXAMPLES=1000 (default 30 per role); it runs on PostgreSQL too, where a NUL
used to be a database error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from typing import Any
from urllib.parse import quote

import pytest
from defusedxml.ElementTree import fromstring
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from dids.api.testing import SECRET_HASH
from dids.models import Did
from portal.testing.client import PortalClient
from portal.testing.factories import (
    AccountantGroupFactory,
    ApiPermissionGroupFactory,
    DeviceFactory,
    DidFactory,
    UserFactory,
)

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "30"))
PERSONAS = [
    None,  # anonymous
    "portal_admin",
    "accountant",
    "accountant_without_right",
    "reseller",
    "reseller_user",
    "end_user",
]

# Parameter names the pages and the API read, and some they do not.
NAMES = [
    *[
        "search_did_number",
        "search_status",
        "search_did_owner",
        "search_dialplan",
        "search_user",
        "search_device",
        "search_provider",
        "search_language",
        "search_hide_terminated_dids",
        "from",
        "max_results",
        "u",
        "hash",
        "action",
        "test",
        "p",
        "q",
        "role",
        "type",
        "page",
        "sort",
        "per_page",
        "next",
        "request",
        "settings_of",
        "username",
        "password",
        "password_confirm",
        "current_password",
        "first_name",
        "last_name",
        "email",
        "owner",
        "is_active",
        "name",
        "manage_dids",
        "dids_get",
        "allow_api",
        "new_secret",
        "generate_secret",
        "remove_secret",
        "days_for_did_close",
        "items_per_page",
        "query",
        "csrfmiddlewaretoken",
        "o",
        "e",
        "_changelist_filters",
        "status__exact",
        "id__exact",
    ],
    "x",
    "",
]
INTERESTING = [
    "", "0", "1", "all", "%", "_", "%%", "\x00", "a\x00", "%\x00", "\x00%", "\ud800",
    "x\udfff", "\x01", "\r\n", "free", "terminated", "alice", "charlie", "erin", "frank",
    "bob", "admin", "reseller", "user", SECRET_HASH, "dids_get", "-1", "9" * 40, "é",
    "<script>", "'\"", "//evil.example", "/dids/", "{", "[]", "1e9999", "NaN",
]  # fmt: skip
CHARSETS = [
    "", "; charset=utf-8", "; charset=UTF8", "; charset=iso-8859-1", "; charset=utf-16",
    "; charset=windows-1252", "; charset=rot13", "; charset=hex", "; charset=base64",
    "; charset=nonsense", '; charset="utf-8"', "; charset=",
]  # fmt: skip
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=BoUnDaRy",
    "application/json",
    "text/plain",
    "application/xml",
    "application/octet-stream",
]
BOUNDARY = "BoUnDaRy"

text = st.one_of(
    st.sampled_from(INTERESTING),
    # Any code point, lone surrogates and NUL included.
    st.text(st.characters(exclude_categories=()), max_size=12),
)
raw_bytes = st.binary(max_size=24)
pairs = st.lists(st.tuples(st.sampled_from(NAMES) | text, text | raw_bytes), max_size=6)


def encoded(value: str | bytes) -> str:
    """Percent-encoded bytes; text in UTF-8 (a lone surrogate as its invalid bytes)."""
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(data, safe="")


def urlencoded(params: list[tuple[Any, Any]]) -> str:
    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in params)


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def multipart(params: list[tuple[Any, Any]]) -> bytes:
    parts = [
        b"--" + BOUNDARY.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="' + as_bytes(name).replace(b'"', b"") + b'"'
        b"\r\n\r\n" + as_bytes(value) + b"\r\n"
        for name, value in params
    ]
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=6,
)


@st.composite
def bodies(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["none", "form", "multipart", "json", "bytes"]))
    charset = draw(st.sampled_from(CHARSETS))
    if kind == "none":
        return b"", draw(st.sampled_from(CONTENT_TYPES)) + charset
    if kind == "form":
        return urlencoded(draw(pairs)).encode(), CONTENT_TYPES[0] + charset
    if kind == "multipart":
        return multipart(draw(pairs)), CONTENT_TYPES[1] + charset
    if kind == "json":
        data = draw(st.dictionaries(st.sampled_from(NAMES) | text, json_values, max_size=5))
        # ensure_ascii: a lone surrogate becomes a \\udXXX escape, as a client would send it.
        return json.dumps(data).encode(), CONTENT_TYPES[2] + charset
    return draw(st.binary(max_size=64)), draw(st.sampled_from(CONTENT_TYPES)) + charset


URL_NAMES = [
    "root", "login", "logout", "list", "export", "detail", "detail_other", "detail_missing",
    "accounts", "account_new", "account_edit", "account_password", "reseller_api_settings",
    "accountant_groups", "accountant_group_new", "accountant_group_edit",
    "accountant_group_delete", "api_groups", "api_group_new", "api_group_edit",
    "api_group_delete", "api_settings", "system_settings", "hash_tool", "own_password",
    "audit_log", "dids_get", "dids_get_slash", "dispatch", "dispatch_no_slash",
    "api_unknown", "admin", "admin_login", "admin_users", "admin_user", "admin_audit",
    "admin_dids", "admin_did", "admin_history", "admin_autocomplete", "static", "nowhere",
]  # fmt: skip


requests = st.tuples(
    st.sampled_from(["GET", "GET", "POST", "POST", "POST", "PUT", "HEAD", "DELETE"]),
    st.sampled_from(URL_NAMES),
    pairs,
    bodies(),
)


@pytest.fixture
def world(portal_admin, accountant, accountant_without_right, reseller, other_reseller,
          reseller_user, end_user, system_api, dids_get_group):  # fmt: skip
    portal_admin.is_staff = portal_admin.is_superuser = True
    portal_admin.save()
    phone = DeviceFactory(user=reseller_user)
    dids = [
        DidFactory(number="37060000001"),
        DidFactory(number="37060000002", user=end_user, status=Did.Status.RESERVED),
        DidFactory(number="37060000003", reseller=reseller, language="en"),
        DidFactory(
            number="37060000004",
            reseller=reseller,
            user=reseller_user,
            device=phone,
            status=Did.Status.ACTIVE,
        ),
        DidFactory(number="37060000005", reseller=other_reseller, comment="\x01<b>"),
        DidFactory(number="37060000006", status=Did.Status.TERMINATED),
    ]
    stranger = UserFactory(username="stranger", owner=other_reseller)
    accountant_group = AccountantGroupFactory(name="Desk")
    api_group = ApiPermissionGroupFactory(name="Readers")
    return {"dids": dids, "stranger": stranger, "groups": (accountant_group, api_group)}


def every_url(world: dict) -> dict[str, str]:
    """Every page of the GUI (the Django admin included) and every URL of the API."""
    did, other = world["dids"][3], world["dids"][4]
    accountant_group, api_group = world["groups"]
    account = world["stranger"]
    urls = {
        "root": "/",
        "login": reverse("login"),
        "logout": reverse("logout"),
        "list": reverse("dids:list"),
        "export": reverse("dids:export"),
        "detail": reverse("dids:detail", args=[did.pk]),
        "detail_other": reverse("dids:detail", args=[other.pk]),
        "detail_missing": "/dids/999999/",
        "accounts": reverse("accounts:account_list"),
        "account_new": reverse("accounts:account_create"),
        "account_edit": reverse("accounts:account_edit", args=[account.pk]),
        "account_password": reverse("accounts:account_password", args=[account.pk]),
        "reseller_api_settings": reverse("accounts:reseller_api_settings", args=[account.owner_id]),
        "accountant_groups": reverse("accounts:accountant_group_list"),
        "accountant_group_new": reverse("accounts:accountant_group_create"),
        "accountant_group_edit": reverse(
            "accounts:accountant_group_edit", args=[accountant_group.pk]
        ),
        "accountant_group_delete": reverse(
            "accounts:accountant_group_delete", args=[accountant_group.pk]
        ),
        "api_groups": reverse("accounts:api_group_list"),
        "api_group_new": reverse("accounts:api_group_create"),
        "api_group_edit": reverse("accounts:api_group_edit", args=[api_group.pk]),
        "api_group_delete": reverse("accounts:api_group_delete", args=[api_group.pk]),
        "api_settings": reverse("accounts:api_settings"),
        "system_settings": reverse("accounts:system_settings"),
        "hash_tool": reverse("accounts:hash_tool"),
        "own_password": reverse("accounts:own_password"),
        "audit_log": reverse("accounts:audit_log"),
        "dids_get": "/billing/api/dids_get",
        "dids_get_slash": "/billing/api/dids_get/",
        "dispatch": "/billing/api/",
        "dispatch_no_slash": "/billing/api",
        "api_unknown": "/billing/api/nothing",
        "admin": "/admin/",
        "admin_login": "/admin/login/",
        "admin_users": "/admin/accounts/user/",
        "admin_user": f"/admin/accounts/user/{account.pk}/change/",
        "admin_audit": "/admin/accounts/auditentry/",
        "admin_dids": "/admin/dids/did/",
        "admin_did": f"/admin/dids/did/{did.pk}/change/",
        "admin_history": "/admin/dids/didhistory/",
        "admin_autocomplete": "/admin/autocomplete/",
        "static": "/static/portal/portal.css",
        "nowhere": "/nowhere",
    }
    assert list(urls) == URL_NAMES
    return urls


def listed_ids(path: str, response, body: bytes) -> set[int]:
    """The DIDs a response shows, wherever it shows DIDs."""
    if response.status_code != 200:
        return set()
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        column = rows[0].index("id")
        return {int(row[column]) for row in rows[1:]}
    if content_type.startswith("text/xml"):
        return {int(element.text) for element in fromstring(body).iter("id")}
    if path.startswith("/dids/") and content_type.startswith("text/html"):
        ids = {int(pk) for pk in re.findall(rb'<tr data-id="(\d+)"', body)}
        detail = re.fullmatch(r"/dids/(\d+)/", path)
        if detail:
            ids.add(int(detail.group(1)))
        return ids
    return set()


def check(client: PortalClient, persona: User | None, method: str, path: str, query: str,
          body: bytes, content_type: str) -> None:  # fmt: skip
    url = f"{path}?{query}" if query else path
    response = client.generic(method, url, body, content_type=content_type)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code < 500, (method, url, content_type, body[:200])
    assert b"Traceback" not in content
    shown = listed_ids(path, response, content) if method != "HEAD" else set()
    if not shown:
        return
    # The API's caller is the account its `u` and hash established (DRF sets it on the
    # request), not the session's.
    viewer = response.wsgi_request.user if path.startswith("/billing/api") else persona
    visible = set(Did.objects.visible_to(viewer).values_list("pk", flat=True))
    assert shown <= visible, (method, url, viewer)


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_no_input_gives_a_server_error_and_visibility_holds(request, world, persona_name):
    persona = request.getfixturevalue(persona_name) if persona_name else None
    urls = every_url(world)
    client = PortalClient(raise_request_exception=False)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=False,
    )
    @given(requests)
    @example(("GET", "list", [("search_did_number", "\x00")], (b"", "text/plain")))
    @example(("GET", "list", [("search_did_owner", "%\x00")], (b"", "text/plain")))
    @example(("GET", "export", [("search_language", "\x00")], (b"", "text/plain")))
    @example(("GET", "audit_log", [("type", "\x00")], (b"", "text/plain")))
    @example(("GET", "admin_users", [("username", "\x00")], (b"", "text/plain")))
    @example(("POST", "hash_tool", [], (b"request=u%3D%2500", "application/x-www-form-urlencoded")))
    @example(
        ("POST", "hash_tool", [], (b'request={"x":"\\ud800"}', "application/x-www-form-urlencoded"))
    )
    @example(
        (
            "POST",
            "login",
            [("next", "/dids/")],
            (b"a=b", "application/x-www-form-urlencoded; charset=rot13"),
        )
    )
    @example(
        ("POST", "dids_get", [("u", "alice")], (b'{"u":"alice"}', "application/json; charset=hex"))
    )
    def run(case) -> None:
        method, pick, query_pairs, (body, content_type) = case
        # The session may have ended (the logout URL, a password change): sign in again.
        signed_in = client.session.get("_auth_user_id")
        if persona is not None and signed_in != str(persona.pk):
            client.force_login(persona)
        elif persona is None and signed_in:
            client.logout()
        path = urls[pick]
        check(client, persona, method, path, urlencoded(query_pairs), body, content_type)

    run()
