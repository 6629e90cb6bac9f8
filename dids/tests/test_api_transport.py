"""dids_get's transport (dids_get.md §1): URLs, methods, where parameters come from, the
response's envelope and content type, test=1, and that no session or CSRF token is involved."""

import html
import json
import re

import pytest
from defusedxml.ElementTree import fromstring
from django.test import Client

from dids.api.testing import (
    DIDS_GET_URL,
    DISPATCH_URL,
    SECRET_HASH,
    body_of,
    call,
    error_of,
    ids_of,
    rows_of,
    sha1,
)
from dids.models import Did
from portal.testing.factories import DidFactory

AUTH = {"u": "alice", "hash": SECRET_HASH}


@pytest.fixture
def dids(portal_admin, system_api):
    return [
        DidFactory(number="100", status=Did.Status.FREE),
        DidFactory(number="101", status=Did.Status.ACTIVE),
        DidFactory(number="102", status=Did.Status.TERMINATED),
    ]


def ids(dids, *indexes):
    return [dids[i].id for i in indexes]


# --- URLs ---------------------------------------------------------------------------


def test_dids_get_url_without_slash_is_served_not_redirected(client, dids):
    response = client.post(DIDS_GET_URL, AUTH)
    assert response.status_code == 200
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_dids_get_url_with_slash_is_served_too(client, dids):
    assert ids_of(client.post(DIDS_GET_URL + "/", AUTH)) == ids(dids, 0, 1, 2)


def test_dispatch_url_with_action_in_the_query_string(client, dids):
    response = client.post(DISPATCH_URL + "?action=dids_get", AUTH)
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_dispatch_url_with_action_in_the_form_body(client, dids):
    assert ids_of(client.post(DISPATCH_URL, {**AUTH, "action": "dids_get"})) == ids(dids, 0, 1, 2)


def test_dispatch_url_with_action_in_a_json_body(client, dids):
    body = json.dumps({**AUTH, "action": "dids_get"})
    response = client.post(DISPATCH_URL, body, content_type="application/json")
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_both_urls_answer_identically(client, dids):
    params = {**AUTH, "search_status": "active"}
    direct = body_of(client.post(DIDS_GET_URL, params))
    dispatched = body_of(client.post(DISPATCH_URL, {**params, "action": "dids_get"}))
    assert direct == dispatched
    assert error_of(client.post(DIDS_GET_URL, {**params, "search_status": "x"})) == error_of(
        client.post(DISPATCH_URL, {**params, "action": "dids_get", "search_status": "x"})
    )


def test_dispatch_url_without_its_slash_answers_too(client, dids):
    """Not redirected by APPEND_SLASH, which would drop a POST body."""
    params = {**AUTH, "search_status": "active"}
    no_slash = client.post("/billing/api", {**params, "action": "dids_get"})
    assert no_slash.status_code == 200
    assert body_of(no_slash) == body_of(client.post(DIDS_GET_URL, params))
    assert error_of(client.post("/billing/api", AUTH)) == "Unknown API method"


@pytest.mark.parametrize("action", [None, "", "dids_gets", "DIDS_GET", "user_details_get"])
def test_dispatch_url_without_a_known_action(client, dids, action):
    params = dict(AUTH) if action is None else {**AUTH, "action": action}
    response = client.post(DISPATCH_URL, params)
    assert response.status_code == 200
    assert error_of(response) == "Unknown API method"


def test_unknown_method_is_answered_before_authentication(client, dids):
    assert error_of(client.post(DISPATCH_URL, {"u": "nobody"})) == "Unknown API method"


def test_dispatch_url_by_get_follows_the_get_rule(client, dids):
    response = client.get(DISPATCH_URL, {**AUTH, "action": "dids_get"})
    assert error_of(response) == "GET Requests are disabled"


def test_action_on_the_dids_get_url_is_ignored(client, dids):
    assert ids_of(client.post(DIDS_GET_URL, {**AUTH, "action": "other"})) == ids(dids, 0, 1, 2)


# --- Methods ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head", "options"])
def test_other_http_methods_are_not_allowed(client, dids, method):
    response = getattr(client, method)(DIDS_GET_URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    if method != "head":
        assert error_of(response) == "Method not allowed"


# --- Parameters: where they come from ---------------------------------------------------


def test_query_string_on_a_post(client, dids):
    response = client.post(DIDS_GET_URL + f"?u=alice&hash={SECRET_HASH}&search_status=free")
    assert ids_of(response) == ids(dids, 0)


def test_multipart_form_body(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "search_status": "free"})  # multipart
    assert response.request["CONTENT_TYPE"].startswith("multipart/form-data")
    assert ids_of(response) == ids(dids, 0)


def test_urlencoded_form_body(client, dids):
    body = f"u=alice&hash={SECRET_HASH}&search_status=active"
    response = client.post(DIDS_GET_URL, body, content_type="application/x-www-form-urlencoded")
    assert ids_of(response) == ids(dids, 1)


def test_json_object_body(client, dids):
    body = json.dumps({**AUTH, "search_status": "terminated"})
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert ids_of(response) == ids(dids, 2)


def test_json_body_with_charset(client, dids):
    body = json.dumps({**AUTH, "search_status": "free"})
    response = client.post(DIDS_GET_URL, body, content_type="application/json; charset=utf-8")
    assert ids_of(response) == ids(dids, 0)


def test_query_string_wins_over_a_form_body(client, dids):
    response = client.post(
        DIDS_GET_URL + "?search_status=free", {**AUTH, "search_status": "active"}
    )
    assert ids_of(response) == ids(dids, 0)


def test_query_string_wins_over_a_json_body(client, dids):
    body = json.dumps({**AUTH, "search_status": "active"})
    response = client.post(
        DIDS_GET_URL + "?search_status=terminated", body, content_type="application/json"
    )
    assert ids_of(response) == ids(dids, 2)


def test_query_string_u_wins_over_the_body(client, dids):
    response = client.post(DIDS_GET_URL + "?u=mallory", AUTH)
    assert error_of(response) == "Access Denied"


def test_parameters_are_merged_from_both_places(client, dids):
    response = client.post(
        DIDS_GET_URL + "?u=alice", {"hash": SECRET_HASH, "search_status": "free"}
    )
    assert ids_of(response) == ids(dids, 0)


def test_empty_value_is_absent(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "search_status": "", "search_user": ""})
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_empty_query_value_leaves_the_body_value(client, dids):
    """(decision) an empty value is absent in its own place, so it does not hide the other."""
    response = client.post(DIDS_GET_URL + "?search_status=", {**AUTH, "search_status": "free"})
    assert ids_of(response) == ids(dids, 0)


def test_repeated_parameter_takes_the_last_value(client, dids):
    response = client.post(
        DIDS_GET_URL + f"?u=alice&hash={SECRET_HASH}&search_status=free&search_status=active"
    )
    assert ids_of(response) == ids(dids, 1)


def test_unknown_parameters_are_ignored(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "search_colour": "blue", "foo": "bar"})
    assert ids_of(response) == ids(dids, 0, 1, 2)


@pytest.mark.parametrize(
    "body",
    ['{"u": "alice",', "[1, 2]", '"alice"', "42", "null", "NaN", '{"u": NaN}', "\xff\xfe"],
)
def test_a_body_that_is_not_a_json_object_gives_no_parameters(client, dids, body):
    """(decision) the request is then judged on its query string alone."""
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert error_of(response) == "Access Denied"
    response = client.post(
        DIDS_GET_URL + f"?u=alice&hash={SECRET_HASH}", body, content_type="application/json"
    )
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_an_unknown_body_type_gives_no_parameters(client, dids):
    response = client.post(DIDS_GET_URL, "u=alice", content_type="text/plain")
    assert error_of(response) == "Access Denied"


def test_a_file_where_text_is_expected_is_malformed(client, dids):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("status.txt", b"free")
    response = client.post(DIDS_GET_URL, {**AUTH, "search_status": upload})
    assert error_of(response) == (
        "Invalid search_status: expected one of free, reserved, active, closed, terminated"
    )


def test_nul_character_is_malformed_not_a_crash(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "search_did_number": "10\x000"})
    assert error_of(response) == "Invalid search_did_number: expected text"
    assert error_of(client.post(DIDS_GET_URL, {"u": "ali\x00ce", "hash": SECRET_HASH})) == (
        "Access Denied"
    )


def test_lone_surrogate_from_json_is_malformed_not_a_crash(client, dids):
    body = f'{{"u": "alice", "hash": "{SECRET_HASH}", "search_did_owner": "\\ud800"}}'
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert error_of(response) == "Invalid search_did_owner: expected text"


# --- JSON value types (§4: strings as they are, numbers as text, anything else malformed) -


def post_json(client, data):
    return client.post(DIDS_GET_URL, json.dumps({**AUTH, **data}), content_type="application/json")


def test_json_number_is_its_decimal_text(client, dids):
    assert ids_of(post_json(client, {"from": 2, "max_results": 1})) == ids(dids, 1)


def test_json_huge_number_is_valid_and_matches_nothing(client, dids):
    body = '{{"u": "alice", "hash": "{}", "search_user": {}}}'.format(SECRET_HASH, "9" * 5000)
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert error_of(response) == "No DIDs found"


def test_json_fraction_is_not_a_whole_number(client, dids):
    """(decision) a number is taken as written: 1.0 is not a whole number."""
    assert error_of(post_json(client, {"max_results": 1.0})) == (
        "Invalid max_results: expected a whole number of at least 1"
    )
    body = f'{{"u": "alice", "hash": "{SECRET_HASH}", "max_results": 1e2}}'
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert error_of(response) == "Invalid max_results: expected a whole number of at least 1"


def test_json_negative_number_is_malformed(client, dids):
    assert error_of(post_json(client, {"search_user": -1})) == (
        "Invalid search_user: expected a whole number"
    )


def test_json_number_as_text_parameter(client, dids):
    assert ids_of(post_json(client, {"search_did_number": 101})) == ids(dids, 1)


@pytest.mark.parametrize("value", [True, False, None, [], ["free"], {"a": 1}])
def test_json_non_text_values_are_malformed(client, dids, value):
    assert error_of(post_json(client, {"search_status": value})) == (
        "Invalid search_status: expected one of free, reserved, active, closed, terminated"
    )


@pytest.mark.parametrize("value", [True, None, 1.5, ["alice"]])
def test_json_non_text_u_is_access_denied(client, dids, value):
    assert error_of(post_json(client, {"u": value})) == "Access Denied"


def test_json_bool_is_not_a_number(client, dids):
    assert error_of(post_json(client, {"search_hide_terminated_dids": True})) == (
        "Invalid search_hide_terminated_dids: expected 0 or 1"
    )
    assert ids_of(post_json(client, {"search_hide_terminated_dids": 1})) == ids(dids, 0, 1)


def test_json_number_for_a_legacy_hashed_parameter_enters_the_hash(client, dids):
    response = post_json(client, {"s_user": 7, "hash": sha1("7secret")})
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_json_malformed_values_are_reported_in_contract_order(client, dids):
    assert error_of(post_json(client, {"max_results": True, "search_user": None})) == (
        "Invalid search_user: expected a whole number"
    )


# --- Response envelope --------------------------------------------------------------------


def test_success_envelope(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "search_status": "free"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.streaming
    body = body_of(response)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><page><dids><did><did>100</did>')
    assert body.endswith(b"</did></dids></page>")


def test_error_envelope_is_exact(client, dids):
    response = client.post(DIDS_GET_URL, {"u": "nobody"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert body_of(response) == (
        b'<?xml version="1.0" encoding="UTF-8"?><page><error>Access Denied</error></page>'
    )


def test_accept_header_does_not_change_the_format(client, dids):
    response = client.post(DIDS_GET_URL, AUTH, HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert ids_of(response) == ids(dids, 0, 1, 2)
    response = client.post(DIDS_GET_URL + "?format=json", AUTH)
    assert ids_of(response) == ids(dids, 0, 1, 2)


def test_responses_are_not_cached(client, dids):
    assert call(client, AUTH)["Cache-Control"] == "no-store"
    assert call(client, {"u": "x"})["Cache-Control"] == "no-store"


# --- test=1 ---------------------------------------------------------------------------------


def xml_in_test_page(response) -> str:
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = body_of(response).decode()
    assert page.startswith("<!DOCTYPE html>")
    match = re.search(r"<pre>(.*)</pre>", page, re.DOTALL)
    assert match is not None
    assert "<page>" not in match.group(1)  # escaped
    return html.unescape(match.group(1))


def test_test_page_shows_the_same_document_pretty_printed(client, dids):
    plain = client.post(DIDS_GET_URL, {**AUTH, "search_status": "active"})
    test = client.post(DIDS_GET_URL, {**AUTH, "search_status": "active", "test": "1"})
    xml = xml_in_test_page(test)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <dids>\n    <did>\n')
    assert "      <did_status>active</did_status>\n" in xml
    pretty_rows = [
        [(child.tag, child.text or "") for child in did]
        for did in fromstring(xml.encode()).find("dids")
    ]
    assert pretty_rows == rows_of(plain)


def test_test_page_for_an_error(client, dids):
    xml = xml_in_test_page(client.post(DIDS_GET_URL, {"u": "nobody", "test": "1"}))
    assert xml == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <error>Access Denied</error>\n</page>\n'
    )


def test_test_page_escapes_markup_in_data(client, portal_admin, system_api):
    DidFactory(number="1", comment="<script>alert(1)</script> & co")
    response = client.post(DIDS_GET_URL, {**AUTH, "test": "1"})
    page = body_of(response).decode()
    assert "<script>" not in page
    assert "&amp;lt;script&amp;gt;" in page
    comment = fromstring(xml_in_test_page(response).encode()).find("dids/did/comment")
    assert comment.text == "<script>alert(1)</script> & co"


@pytest.mark.parametrize("method", ["put", "delete", "options"])
def test_test_page_for_a_method_that_is_not_allowed(client, dids, method):
    # test=1 applies to every answer (docs, decision 14), also outside the contract's errors.
    response = getattr(client, method)(DIDS_GET_URL + "?test=1")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert xml_in_test_page(response) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <error>Method not allowed</error>\n'
        "</page>\n"
    )


def test_test_other_than_1_is_plain_xml(client, dids):
    response = client.post(DIDS_GET_URL, {**AUTH, "test": "0"})
    assert ids_of(response) == ids(dids, 0, 1, 2)


# --- No session, no CSRF -----------------------------------------------------------------


def test_no_csrf_token_is_needed(dids):
    client = Client(enforce_csrf_checks=True)
    assert ids_of(client.post(DIDS_GET_URL, AUTH)) == ids(dids, 0, 1, 2)
    assert ids_of(client.post(DISPATCH_URL, {**AUTH, "action": "dids_get"})) == ids(dids, 0, 1, 2)


def test_no_session_cookie_is_set(client, dids):
    response = client.post(DIDS_GET_URL, AUTH)
    body_of(response)
    assert response.cookies == {}
    assert "sessionid" not in client.cookies


def test_a_signed_in_gui_session_does_not_authenticate(client, portal_admin, dids):
    client.force_login(portal_admin)
    assert error_of(client.post(DIDS_GET_URL, {})) == "Access Denied"
    assert error_of(client.post(DIDS_GET_URL, {"hash": SECRET_HASH})) == "Access Denied"


def test_the_api_is_public_for_anonymous_callers(client, dids):
    """LoginRequiredMiddleware must not redirect API calls to the sign-in page."""
    response = client.post(DIDS_GET_URL, {})
    assert response.status_code == 200
    assert error_of(response) == "Access Denied"


def test_json_non_text_hash_is_incorrect(client, dids):
    assert error_of(post_json(client, {"hash": 123})) == "Incorrect hash"
    assert error_of(post_json(client, {"hash": [SECRET_HASH]})) == "Incorrect hash"


def test_deeply_nested_json_gives_no_parameters(client, dids):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(DIDS_GET_URL + "?u=alice", body, content_type="application/json")
    assert error_of(response) == "Incorrect hash"  # u from the query string; no body at all


def test_oversized_json_body_gives_no_parameters(client, dids, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({**AUTH, "padding": "x" * 2000})
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    assert error_of(response) == "Access Denied"


# --- How the body is sent -------------------------------------------------------------


@pytest.mark.parametrize("test", ["0", "1"])
def test_a_page_is_one_body_with_its_length_and_more_rows_stream(client, dids, test):
    page = call(client, {**AUTH, "max_results": "2", "test": test})
    assert not page.streaming
    assert page["Content-Length"] == str(len(page.content))
    everything = call(client, {**AUTH, "test": test})
    assert everything.streaming
    assert not everything.has_header("Content-Length")
    # The same document either way: the page is the first rows of the stream.
    if test == "0":
        assert ids_of(page) == ids(dids, 0, 1)
        assert ids_of(everything) == ids(dids, 0, 1, 2)
        assert body_of(everything).startswith(body_of(page).split(b"</dids>")[0])
    else:
        assert b"&lt;did_number&gt;101&lt;/did_number&gt;" in body_of(page)
        assert page["Content-Type"] == everything["Content-Type"] == "text/html; charset=utf-8"
    for response in (page, everything):
        assert response["Cache-Control"] == "no-store"
