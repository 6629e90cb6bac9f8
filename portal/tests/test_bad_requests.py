"""A request the portal cannot read is a clear 400 in its layout, or the API's XML error,
never a server error: charsets other than UTF-8, bodies Django refuses to read."""

import io
import sys

import pytest
from defusedxml.ElementTree import fromstring
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from accounts.models import User
from dids.api.errors import api_error_response
from dids.api.testing import SECRET_HASH, body_of, error_of, ids_of
from portal.testing.client import PortalClient
from portal.testing.factories import DidFactory

# Text encodings other than UTF-8, codecs that are not text encodings, and no codec at all.
REFUSED = ["iso-8859-1", "utf-16", "windows-1252", "rot13", "hex", "base64", "nonsense"]
FORM = "application/x-www-form-urlencoded"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
INVALID_CHARSET = "Invalid charset: expected utf-8"


@pytest.fixture
def portal_client() -> PortalClient:
    return PortalClient(raise_request_exception=True)


def send(client, path: str, body: bytes | dict, content_type: str | None = None):
    """POST the body's bytes as they are (the test client would re-encode text)."""
    if isinstance(body, dict):
        return client.post(path, body)
    return client.generic("POST", path, body, content_type=content_type)


def assert_bad_request_page(response, text: str) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    for header, value in SECURITY_HEADERS.items():
        assert response[header] == value, header
    assert "default-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "<title>Bad request | DID portal</title>" in html
    assert '<p class="errornote" id="bad-request" role="alert">' in html
    assert text in html


@pytest.mark.parametrize("charset", REFUSED)
@pytest.mark.parametrize("path", ["/login/", "/login/?next=/dids/", "/dids/", "/hash-tool/?x=1"])
def test_a_form_in_another_charset_is_a_400_page(portal_client, portal_admin, charset, path):
    portal_client.force_login(portal_admin)
    response = send(
        portal_client, path, b"username=alice&password=x", content_type=f"{FORM}; charset={charset}"
    )
    assert_bad_request_page(
        response, f"The request was sent in the character set “{charset}”; the portal reads"
    )
    # Signed in, the page keeps the portal's menu.
    assert 'id="portal-nav"' in response.content.decode()


@pytest.mark.parametrize("charset", REFUSED)
def test_a_get_declaring_another_charset_is_a_400_page_too(portal_client, portal_admin, charset):
    portal_client.force_login(portal_admin)
    response = portal_client.get(
        "/dids/?search_did_number=1", CONTENT_TYPE=f"text/plain; charset={charset}"
    )
    assert_bad_request_page(response, "reads UTF-8 only. Nothing was changed.")


def test_a_refused_sign_in_changes_nothing(portal_client, reseller):
    response = send(
        portal_client,
        "/login/",
        b"username=charlie&password=correct-horse-battery",
        content_type=f"{FORM}; charset=iso-8859-1",
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in portal_client.session


def test_a_refused_form_saves_nothing(portal_client, portal_admin, reseller):
    portal_client.force_login(portal_admin)
    before = User.objects.get(pk=reseller.pk).first_name
    response = send(
        portal_client,
        reverse("accounts:account_edit", args=[reseller.pk]),
        b"username=charlie&first_name=Changed&role=reseller&is_active=on",
        content_type=f"{FORM}; charset=windows-1252",
    )
    assert response.status_code == 400
    assert User.objects.get(pk=reseller.pk).first_name == before


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", '"utf-8"', "Utf-8"])
def test_utf8_under_any_of_its_names_is_read(portal_client, reseller, charset):
    response = send(
        portal_client,
        "/login/",
        "username=charlie&password=correct-horse-battery",
        content_type=f"{FORM}; charset={charset}",
    )
    assert response.status_code == 302
    assert portal_client.session["_auth_user_id"] == str(reseller.pk)


# --- The API: the contract's XML error, HTTP 200 ------------------------------------------


@pytest.fixture
def did(portal_admin, system_api):
    return DidFactory(number="37060000001")


@pytest.mark.parametrize("charset", REFUSED)
@pytest.mark.parametrize(
    "url",
    ["/billing/api/dids_get", "/billing/api/dids_get?u=alice", "/billing/api/?action=dids_get"],
)
def test_the_api_answers_another_charset_with_its_xml_error(portal_client, did, charset, url):
    response = send(
        portal_client,
        url,
        f"u=alice&hash={SECRET_HASH}".encode(),
        content_type=f"{FORM}; charset={charset}",
    )
    body_of(response)
    assert response.status_code == 200
    assert error_of(response) == INVALID_CHARSET
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("charset", REFUSED)
def test_the_api_answers_a_json_body_in_another_charset_alike(portal_client, did, charset):
    response = send(
        portal_client,
        "/billing/api/dids_get?x=1",
        f'{{"u": "alice", "hash": "{SECRET_HASH}"}}'.encode(),
        content_type=f"application/json; charset={charset}",
    )
    assert error_of(response) == INVALID_CHARSET


def test_the_api_keeps_test_1_for_that_error(portal_client, did):
    response = send(
        portal_client,
        "/billing/api/dids_get?test=1",
        b"u=alice",
        content_type=f"{FORM}; charset=rot13",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "&lt;error&gt;Invalid charset: expected utf-8&lt;/error&gt;" in response.content.decode()


def test_a_refused_charset_is_no_failed_authentication(portal_client, did, settings):
    settings.API_AUTH_FAILURE_LIMIT = 1
    for _ in range(3):
        send(
            portal_client, "/billing/api/dids_get", b"u=nobody", content_type=f"{FORM}; charset=hex"
        )
    assert ids_of(
        send(portal_client, "/billing/api/dids_get", {"u": "alice", "hash": SECRET_HASH})
    ) == [did.pk]


@pytest.mark.parametrize("charset", ["utf-8", "utf8", "UTF-8"])
def test_the_api_reads_utf8_under_any_of_its_names(portal_client, did, charset):
    response = send(
        portal_client,
        "/billing/api/dids_get",
        f"u=alice&hash={SECRET_HASH}",
        content_type=f"{FORM}; charset={charset}",
    )
    assert ids_of(response) == [did.pk]


@pytest.mark.parametrize("path", ["/billing/api/did_create", "/billing/api/did_assign_device/"])
def test_a_write_method_refuses_a_charset_in_its_own_envelope(portal_client, path):
    response = send(portal_client, path, "u=alice", content_type=f"{FORM}; charset=iso-8859-1")
    assert response.status_code == 200
    assert response.content == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b"<page><status><error>Invalid charset: expected utf-8</error></status></page>"
    )


def test_the_api_error_envelope_follows_the_method(rf):
    """Write methods answer <page><status><error>…: one function decides for a request."""
    nested = api_error_response(rf.post("/billing/api/did_create"), "Access Denied")
    plain = api_error_response(rf.post("/billing/api/dids_get"), "Access Denied")
    by_action = api_error_response(rf.post("/billing/api/?action=did_create"), "Access Denied")
    unknown = api_error_response(rf.post("/billing/api/"), "Unknown API method")
    assert nested.status_code == plain.status_code == 200
    page = fromstring(nested.content)
    assert [(c.tag, [g.tag for g in c]) for c in page] == [("status", ["error"])]
    assert page.find("status/error").text == "Access Denied"
    assert fromstring(by_action.content).find("status/error").text == "Access Denied"
    assert fromstring(plain.content).find("error").text == "Access Denied"
    assert fromstring(unknown.content).find("error").text == "Unknown API method"


# --- Through the real WSGI application --------------------------------------------------


def wsgi_call(method: str, path: str, query: str, content_type: str, body: bytes = b"a=b"):
    """One request through portal.wsgi.application, as gunicorn makes it."""
    from portal.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    started = []
    # As Django's test client does: the test's database connection stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(
            environ, lambda status, headers, *exc: started.append((status, headers))
        )
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    status, headers = started[0]
    return int(status.split()[0]), dict(headers), content


@pytest.mark.parametrize("charset", ["rot13", "hex", "base64", "iso-8859-1", "utf-16"])
def test_the_wsgi_application_refuses_before_django_decodes(charset):
    """Django raised while building the request (rot13 and a query string): a bare 500."""
    status, headers, content = wsgi_call(
        "POST", "/login/", "next=/dids/", f"{FORM}; charset={charset}"
    )
    assert status == 400
    assert headers["X-Frame-Options"] == "DENY"
    assert b'id="bad-request"' in content
    status, headers, content = wsgi_call(
        "POST", "/billing/api/dids_get", "u=alice", f"{FORM}; charset={charset}"
    )
    assert status == 200
    assert content == (
        b'<?xml version="1.0" encoding="UTF-8"?><page><error>Invalid charset: expected utf-8'
        b"</error></page>"
    )


# --- Bodies Django refuses to read --------------------------------------------------------


def test_a_form_body_too_large_to_read_is_a_400_page(reseller, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = PortalClient(enforce_csrf_checks=True, raise_request_exception=False)
    client.get("/login/")  # the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        f"csrfmiddlewaretoken={token}&username=charlie&password={'x' * 2000}",
        content_type=FORM,
    )
    assert_bad_request_page(response, "The portal could not read this request")


def test_too_many_fields_in_the_api_is_its_xml_error(did, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    client = PortalClient(raise_request_exception=False)
    body = "&".join(f"f{i}=1" for i in range(20)) + f"&u=alice&hash={SECRET_HASH}"
    response = client.post("/billing/api/dids_get", body, content_type=FORM)
    assert response.status_code == 200
    assert error_of(response) == "Invalid request: it could not be read"


# --- The Django admin's list filters ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/?username=%00",
        "/admin/dids/did/?status__exact=%00",
        "/admin/dids/did/?q=a%00",
        "/admin/accounts/auditentry/?object_type=%00",
        "/admin/autocomplete/?term=%00&app_label=dids&model_name=did&field_name=user",
    ],
)
def test_the_django_admin_refuses_a_nul_in_its_query(portal_client, portal_admin, url):
    """On PostgreSQL these were database errors (the admin filters with the values as given)."""
    portal_admin.is_staff = portal_admin.is_superuser = True
    portal_admin.save()
    portal_client.force_login(portal_admin)
    response = portal_client.get(url)
    assert_bad_request_page(response, "A filter of this page holds a NUL character")


def test_the_django_admin_still_filters_text(portal_client, portal_admin, reseller):
    portal_admin.is_staff = portal_admin.is_superuser = True
    portal_admin.save()
    portal_client.force_login(portal_admin)
    response = portal_client.get("/admin/accounts/user/?q=charl")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [reseller]
