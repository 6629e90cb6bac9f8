"""Text that no database can take (a NUL, a lone surrogate) is one rule of DidFilterSet:
the list, the export and dids_get refuse it alike, on SQLite and on PostgreSQL."""

import re

import pytest
from django.db import DataError, connection, transaction

from dids.api.testing import SECRET_HASH, call, error_of
from dids.filters import DidFilterSet
from dids.models import Did
from portal.testing.factories import DidFactory, UserFactory
from portal.text import is_valid_text

TEXT_FILTERS = ["search_did_number", "search_did_owner", "search_language"]
# Values that are not text: a NUL alone (on SQLite a LIKE pattern stops at it, so
# `%<NUL>%` matched every DID with an owner), a NUL inside, a wildcard before a NUL.
NOT_TEXT = ["\x00", "37\x00", "%\x00", "\x00%"]


@pytest.fixture
def dids(portal_admin, end_user):
    return [
        DidFactory(number="37060000001", user=end_user, language="en"),
        DidFactory(number="37060000002", language="de"),
    ]


def list_errors(response) -> list[str]:
    return re.findall(r"<li>(Invalid [^<]*)</li>", response.content.decode())


def test_the_rule_of_text():
    assert is_valid_text("")
    assert is_valid_text("Jonas Žemaitis \t\r\n \x01 \U0001f600 \ufffe")
    assert not is_valid_text("a\x00b")
    assert not is_valid_text("\ud800")
    assert not is_valid_text("x\udfff")


@pytest.mark.parametrize("name", TEXT_FILTERS)
@pytest.mark.parametrize("value", NOT_TEXT)
def test_the_filterset_refuses_text_with_a_nul(portal_admin, dids, name, value):
    filterset = DidFilterSet({name: value}, Did.objects.all(), account=portal_admin)
    assert filterset.error_messages() == [f"Invalid {name}: expected text"]
    assert list(filterset.qs) == []


@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_the_filterset_refuses_a_lone_surrogate(portal_admin, dids, name):
    filterset = DidFilterSet({name: "ab\ud800"}, Did.objects.all(), account=portal_admin)
    assert filterset.error_messages() == [f"Invalid {name}: expected text"]


def test_other_parameters_with_a_nul_get_their_own_expectation(portal_admin, dids):
    filterset = DidFilterSet(
        {"search_status": "free\x00", "search_user": "1\x00", "search_device": "\x00"},
        Did.objects.all(),
        account=portal_admin,
    )
    assert filterset.error_messages() == [
        "Invalid search_status: expected one of free, reserved, active, closed, terminated",
        "Invalid search_user: expected a whole number",
        "Invalid search_device: expected a whole number or all",
    ]


@pytest.mark.parametrize("name", TEXT_FILTERS)
@pytest.mark.parametrize("value", NOT_TEXT)
def test_the_list_shows_the_apis_error_and_no_rows(client, portal_admin, dids, name, value):
    client.force_login(portal_admin)
    response = client.get("/dids/", {name: value})
    assert response.status_code == 200
    assert list_errors(response) == [f"Invalid {name}: expected text"]
    assert 'data-id="' not in response.content.decode()


@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_the_export_refuses_it_before_streaming(client, portal_admin, dids, name):
    client.force_login(portal_admin)
    response = client.get("/dids/export.csv", {name: "\x00"})
    assert response.status_code == 400
    assert response.content.decode() == f"Invalid {name}: expected text"


@pytest.mark.parametrize("name", TEXT_FILTERS)
@pytest.mark.parametrize("value", NOT_TEXT)
def test_dids_get_refuses_it_in_the_same_words(client, system_api, dids, name, value):
    assert error_of(call(client, {"u": "alice", "hash": SECRET_HASH, name: value})) == (
        f"Invalid {name}: expected text"
    )


@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_dids_get_refuses_a_lone_surrogate_from_json(client, system_api, dids, name):
    body = f'{{"u": "alice", "hash": "{SECRET_HASH}", "{name}": "x\\ud800"}}'
    response = client.post("/billing/api/dids_get", body, content_type="application/json")
    assert error_of(response) == f"Invalid {name}: expected text"


def test_an_end_user_with_a_nul_owner_filter_sees_nothing(client, end_user, dids):
    """On SQLite the NUL used to end the pattern: `%` alone matched every owned DID."""
    client.force_login(end_user)
    response = client.get("/dids/", {"search_did_owner": "%\x00"})
    assert list_errors(response) == ["Invalid search_did_owner: expected text"]
    assert 'data-id="' not in response.content.decode()


# --- Why: the two databases take a NUL differently ----------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's behaviour")
def test_on_postgresql_a_nul_in_a_query_is_a_database_error(dids):
    with pytest.raises(DataError), transaction.atomic():
        list(Did.objects.filter(number__contains="\x00"))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's behaviour")
def test_on_sqlite_a_like_pattern_ends_at_a_nul(dids):
    # `%<NUL>…` is read as `%`: it matches every DID.
    assert Did.objects.filter(number__ilike_pattern="%\x00nothing").count() == len(dids)


def test_through_the_filterset_both_databases_refuse_it_alike(portal_admin, dids):
    filterset = DidFilterSet(
        {"search_did_number": "%\x00nothing"}, Did.objects.all(), account=portal_admin
    )
    assert filterset.error_messages() == ["Invalid search_did_number: expected text"]
    assert list(filterset.qs) == []


# --- Other pages with a filter -----------------------------------------------------------


def test_the_audit_log_refuses_a_type_with_a_nul(client, portal_admin):
    UserFactory(username="zed")  # an entry or two to not show
    client.force_login(portal_admin)
    response = client.get("/audit-log/", {"type": "user\x00"})
    assert response.status_code == 200
    html = response.content.decode()
    error = '<p class="errornote" id="filter-errors" role="alert">Invalid type: expected text</p>'
    assert error in html
    assert response.context["entries"] == []


def test_the_account_search_with_a_nul_lists_no_account(client, portal_admin, reseller):
    client.force_login(portal_admin)
    response = client.get("/accounts/", {"q": "\x00"})
    assert response.status_code == 200
    assert list(response.context["page_obj"]) == []
    assert "<li>Search: Null characters are not allowed.</li>" in response.content.decode()


def test_a_reseller_search_with_a_nul_lists_none_of_its_users(client, reseller, reseller_user):
    client.force_login(reseller)
    response = client.get("/accounts/", {"q": "%\x00"})
    assert list(response.context["page_obj"]) == []
