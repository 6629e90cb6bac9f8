"""The write methods' transport (did_methods.md §1, §2, §4): URLs, aliases, `action`
dispatch, the write envelope, 405, 429 and `test=1`."""

import html
import json

import pytest

from accounts.models import User
from dids.api.methods import BY_NAME, METHODS
from dids.api.methods.testing import (
    API_URL,
    call_method,
    error_of,
    hash_for,
    method_url,
    outcome_of,
)
from dids.api.testing import SECRET_HASH, body_of
from dids.api.testing import error_of as dids_get_error_of
from portal.testing.factories import ApiSettingsFactory, DidFactory, UserFactory

ALL_NAMES = sorted(BY_NAME)
OUT_OF_SCOPE = [
    "did_trunk_device_assign",
    "did_rates_get",
    "did_rates_update",
    "did_rates_details_get",
    "did_rates_details_update",
    "quickforwards_dids_get",
    "quickforwards_did_update",
    "quickforwards_did_delete",
]


@pytest.fixture
def user_caller(db, system_api):
    """A user owned by the system: every write method answers it `Access Denied` at check 7,
    after authentication: so an answer of `Access Denied` with the right hash and
    `Incorrect hash` with a wrong one shows which method was reached and how it hashed."""
    return UserFactory(username="frank", role=User.Role.USER)


def test_the_registry_has_the_methods_and_aliases_of_the_contract():
    assert list(METHODS) == [
        "did_create",
        "did_device_assign",
        "did_device_unassign",
        "did_details_update",
        "did_subscription_stop",
        "did_close",
        "did_terminate",
        "did_make_free",
        "did_delete",
    ]
    assert BY_NAME["did_assign_device"] is METHODS["did_device_assign"]
    assert BY_NAME["did_unassign_device"] is METHODS["did_device_unassign"]
    assert len(BY_NAME) == 11


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("slash", ["", "/"])
def test_every_method_and_alias_has_its_url_with_and_without_slash(
    client, user_caller, name, slash
):
    response = call_method(client, name, {"u": "frank"}, url=method_url(name) + slash)
    assert response.status_code == 200
    assert error_of(response) == "Access Denied"
    # The wrong hash is refused first: the method's own hash rule was applied.
    response = call_method(client, name, {"u": "frank", "hash": "0" * 40})
    assert error_of(response) == "Incorrect hash"


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("where", ["query", "form", "json"])
def test_action_on_the_dispatch_url_names_every_method_and_alias(client, user_caller, name, where):
    params = {"u": "frank", "hash": SECRET_HASH}
    if where == "query":
        response = client.post(f"{API_URL}?action={name}", params)
    elif where == "form":
        response = client.post(API_URL, {**params, "action": name})
    else:
        response = client.post(
            API_URL, json.dumps({**params, "action": name}), content_type="application/json"
        )
    assert error_of(response) == "Access Denied"


def test_dispatch_url_without_its_slash_dispatches_too(client, user_caller):
    response = client.post(
        "/billing/api", {"u": "frank", "hash": SECRET_HASH, "action": "did_close"}
    )
    assert error_of(response) == "Access Denied"


def test_action_in_the_query_string_wins_over_the_body(client, user_caller, portal_admin):
    response = client.post(
        f"{API_URL}?action=did_close", {"u": "frank", "hash": SECRET_HASH, "action": "dids_get"}
    )
    assert error_of(response) == "Access Denied"


def test_dids_get_is_still_dispatched(client, portal_admin, system_api):
    DidFactory(number="1")
    response = client.post(API_URL, {"u": "alice", "hash": SECRET_HASH, "action": "dids_get"})
    assert dids_get_error_of(response) is None


@pytest.mark.parametrize(
    "action", [None, "", "DID_CREATE", "did_create ", "Did_close", *OUT_OF_SCOPE]
)
def test_dispatch_without_a_known_action_answers_dids_gets_unknown_method(
    client, user_caller, action
):
    params = {"u": "frank", "hash": SECRET_HASH}
    if action is not None:
        params["action"] = action
    response = client.post(API_URL, params)
    assert response.status_code == 200
    assert dids_get_error_of(response) == "Unknown API method"


@pytest.mark.parametrize("name", [*OUT_OF_SCOPE, "v2/dids_get", "v2/did_create"])
def test_out_of_scope_methods_have_no_route(client, user_caller, name):
    response = client.post(f"{API_URL}{name}", {"u": "frank", "hash": SECRET_HASH})
    assert response.status_code == 404


def test_action_on_a_method_url_is_ignored(client, user_caller):
    response = call_method(client, "did_close", {"u": "frank", "action": "dids_get"})
    assert error_of(response) == "Access Denied"


@pytest.mark.parametrize("http", ["put", "patch", "delete", "options", "head"])
def test_other_http_methods_on_a_method_url_are_405_in_the_write_envelope(
    client, user_caller, http
):
    response = getattr(client, http)(method_url("did_create"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    if http != "head":
        assert outcome_of(response) == ("error", "Method not allowed")


def test_405_on_the_dispatch_url_follows_the_query_strings_action(client, user_caller):
    response = client.put(f"{API_URL}?action=did_assign_device")
    assert response.status_code == 405
    assert outcome_of(response) == ("error", "Method not allowed")
    # An action in the body does not count for a 405: dids_get's envelope.
    response = client.put(
        API_URL, "action=did_create", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 405
    assert dids_get_error_of(response) == "Method not allowed"


def test_get_is_refused_while_allow_get_api_is_off(client, user_caller):
    response = call_method(client, "did_close", {"u": "frank"}, http="get")
    assert error_of(response) == "GET Requests are disabled"


def test_get_is_served_when_allow_get_api_is_on(client, user_caller, system_api):
    system_api.allow_get_api = True
    system_api.save()
    response = call_method(client, "did_close", {"u": "frank"}, http="get")
    assert error_of(response) == "Access Denied"


def test_throttled_write_method_answers_429_in_the_write_envelope(client, user_caller, settings):
    settings.API_AUTH_FAILURE_LIMIT = 2
    for _ in range(2):
        error_of(call_method(client, "did_close", {"u": "frank", "hash": "bad"}))
    response = call_method(client, "did_close", {"u": "frank"})
    assert response.status_code == 429
    assert outcome_of(response) == ("error", "Too many failed attempts")
    assert int(response["Retry-After"]) >= 1


def test_failures_of_dids_get_and_of_write_methods_add_up(client, user_caller, settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    client.post("/billing/api/dids_get", {"u": "frank", "hash": "bad"})
    call_method(client, "did_create", {"u": "frank", "hash": "bad"})
    call_method(client, "did_delete", {"u": "nobody"})
    assert call_method(client, "did_close", {"u": "frank"}).status_code == 429
    response = client.post("/billing/api/dids_get", {"u": "frank", "hash": SECRET_HASH})
    assert response.status_code == 429


def test_a_methods_own_access_denied_is_not_an_authentication_failure(
    client, user_caller, settings
):
    settings.API_AUTH_FAILURE_LIMIT = 2
    for _ in range(5):
        assert error_of(call_method(client, "did_close", {"u": "frank"})) == "Access Denied"


def test_checks_1_to_5_answer_in_the_write_envelope(client, db):
    assert error_of(call_method(client, "did_create", {})) == "Access Denied"
    UserFactory(username="ops", role=User.Role.ADMIN)
    assert error_of(call_method(client, "did_create", {"u": "ops"})) == (
        "API Requests are disabled"
    )
    settings = ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="")
    assert error_of(call_method(client, "did_create", {"u": "ops"})) == "API must have Secret Key"
    settings.api_secret_key = "secret"
    settings.save()
    assert error_of(call_method(client, "did_create", {"u": "ops", "hash": "x"})) == (
        "Incorrect hash"
    )


def test_api_restricted_account_without_the_write_level_is_refused_at_check_6(
    client, user_caller, dids_get_group
):
    user_caller.api_restricted = True
    user_caller.api_permission_group = dids_get_group
    user_caller.save()
    response = call_method(client, "did_assign_device", {"u": "frank"})
    assert error_of(response) == "API method not permitted: did_device_assign"


def test_test_page_shows_the_write_envelope_pretty_printed(client, user_caller):
    response = call_method(client, "did_delete", {"u": "frank", "test": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = body_of(response).decode()
    document = html.unescape(page.split("<pre>", 1)[1].split("</pre>", 1)[0])
    assert document == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<page>\n  <status>\n    <error>Access Denied</error>\n  </status>\n</page>\n"
    )


def test_405_with_test_1_is_a_test_page(client, user_caller):
    response = client.put(method_url("did_close") + "?test=1")
    assert response.status_code == 405
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Method not allowed" in body_of(response).decode()


def test_hash_helper_agrees_with_the_contracts_first_example():
    assert hash_for("did_create", {"provider_id": "1", "did": "4793469588"}, "secret") == (
        "6190768859a33e169940a021ec051434003aa028"
    )
