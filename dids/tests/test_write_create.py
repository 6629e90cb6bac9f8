"""did_create (did_methods.md §8): every row of its check table, the first failure
winning between neighbours, and the effect seen through dids_get and the history."""

import pytest
from django.db import DatabaseError

from accounts.models import AuditEntry, SystemSettings
from dids import services
from dids.api.methods.testing import extra_of
from dids.models import Did

from .conftest import api, last_change, listed, refused, state, succeeded

LONG_TEXT = "x" * 65536


@pytest.fixture
def resellers_may_create(world):
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = True
    settings.save()


def create(client, caller, **params):
    return refused(client, "did_create", caller, **params)


# --- 7. Access Denied -------------------------------------------------------------


@pytest.mark.parametrize("caller", ["frank", "erin"])
def test_users_are_refused(client, world, caller):
    before = state()
    assert create(client, caller, provider_id=str(world.sys.pk), did="555") == "Access Denied"
    assert state() == before


# --- 8. Provider was not found --------------------------------------------------


@pytest.mark.parametrize("value", [None, "abc", "7abc", "-1", "0", "1.0", " 1", "9" * 30, "999"])
def test_missing_malformed_or_unknown_provider_is_not_found(client, world, value):
    params = {"did": "555"} if value is None else {"provider_id": value, "did": "555"}
    before = state()
    assert create(client, "alice", **params) == "Provider was not found"
    assert state() == before


def test_provider_as_json_non_text_is_not_found(client, world):
    from dids.api.methods.testing import call_method, error_of

    response = call_method(
        client, "did_create", {"u": "alice", "provider_id": True, "did": "555"}, http="json"
    )
    assert error_of(response) == "Provider was not found"


# --- 9. Your are not authorized to use this Provider -----------------------------


@pytest.mark.parametrize(
    ("caller", "provider"),
    [
        ("alice", "charlies"),  # the operator: the system's providers only
        ("wendy", "daves"),
        ("charlie", "sys"),  # a reseller: its own only
        ("charlie", "daves"),
        ("dave", "daves"),  # its own, but dave is not Reseller PRO
    ],
)
def test_provider_outside_the_callers_scope(client, world, resellers_may_create, caller, provider):
    before = state()
    assert create(client, caller, provider_id=str(world.providers[provider].pk), did="555") == (
        "Your are not authorized to use this Provider"
    )
    assert state() == before


# --- 10. You are not authorized to manage DIDs ------------------------------------


@pytest.mark.parametrize("caller", ["bob", "bert", "nina"])
def test_accountants_without_write_are_refused(client, world, caller):
    before = state()
    assert create(client, caller, provider_id=str(world.sys.pk), did="555") == (
        "You are not authorized to manage DIDs"
    )
    assert state() == before


def test_reseller_is_refused_while_the_setting_is_off(client, world):
    assert create(client, "charlie", provider_id=str(world.charlies.pk), did="555") == (
        "You are not authorized to manage DIDs"
    )
    assert not Did.objects.filter(number="555").exists()


# --- 11. DID already exists ------------------------------------------------------


@pytest.mark.parametrize("number", ["100", " 100", "100\t\n", "102", "111", "106"])
def test_existing_number_in_any_status_whoever_holds_it(client, world, number):
    before = state()
    assert create(client, "alice", provider_id=str(world.sys.pk), did=number) == (
        "DID already exists"
    )
    assert state() == before


def test_reseller_is_told_about_a_number_someone_else_holds(client, world, resellers_may_create):
    assert create(client, "charlie", provider_id=str(world.charlies.pk), did="102") == (
        "DID already exists"
    )


# --- 12. Invalid DID specified ---------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [None, "   ", "1-415-555-0199", "abc", "k100", "1.5", "-5", "+15", "1 5", "1" * 51, "1é"],
)
def test_missing_or_invalid_number(client, world, number):
    params = {"provider_id": str(world.sys.pk)}
    if number is not None:
        params["did"] = number
    before = state()
    assert create(client, "alice", **params) == "Invalid DID specified"
    assert state() == before


# --- 13-16. Comments and the custom SIP header -----------------------------------


def test_reseller_may_not_set_the_main_comment(client, world, resellers_may_create):
    before = state()
    assert create(
        client, "charlie", provider_id=str(world.charlies.pk), did="555", comment="x"
    ) == ("Invalid comment: not allowed for resellers")
    assert state() == before


def test_resellers_empty_comment_is_ignored(client, world, resellers_may_create):
    provider = str(world.charlies.pk)
    assert succeeded(
        client, "did_create", "charlie", provider_id=provider, did="555", comment=""
    ) == ("DID created")
    assert Did.objects.get(number="555").comment == ""


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"comment": LONG_TEXT}, "Invalid comment: expected text of at most 65535 characters"),
        (
            {"reseller_comment": LONG_TEXT},
            "Invalid reseller_comment: expected text of at most 65535 characters",
        ),
        (
            {"custom_sip_header": "X-A: 1\nX-B: 2"},
            "Invalid custom_sip_header: expected one line of text of at most 255 characters",
        ),
        (
            {"custom_sip_header": "x" * 256},
            "Invalid custom_sip_header: expected one line of text of at most 255 characters",
        ),
        (
            {"custom_sip_header": "tab\there"},
            "Invalid custom_sip_header: expected one line of text of at most 255 characters",
        ),
    ],
)
def test_bad_text_values(client, world, params, text):
    before = state()
    assert create(client, "alice", provider_id=str(world.sys.pk), did="555", **params) == text
    assert state() == before


def test_text_at_its_limit_is_accepted(client, world):
    assert succeeded(
        client,
        "did_create",
        "alice",
        provider_id=str(world.sys.pk),
        did="555",
        comment="c" * 65535,
        reseller_comment="r" * 65535,
        custom_sip_header="h" * 255,
    ) == ("DID created")
    did = Did.objects.get(number="555")
    assert (len(did.comment), len(did.reseller_comment), len(did.custom_sip_header)) == (
        65535,
        65535,
        255,
    )


# --- First failure wins between neighbours ---------------------------------------


def test_7_before_8(client, world):
    assert create(client, "frank", did="555") == "Access Denied"


def test_9_before_10_a_reseller_is_told_about_the_provider_not_the_setting(client, world):
    assert create(client, "charlie", provider_id=str(world.sys.pk), did="555") == (
        "Your are not authorized to use this Provider"
    )


def test_8_before_10(client, world):
    assert create(client, "bob", did="555") == "Provider was not found"


def test_10_before_11(client, world):
    assert create(client, "bob", provider_id=str(world.sys.pk), did="100") == (
        "You are not authorized to manage DIDs"
    )


def test_11_before_13(client, world, resellers_may_create):
    assert create(
        client, "charlie", provider_id=str(world.charlies.pk), did="100", comment="x"
    ) == ("DID already exists")


def test_12_before_13(client, world, resellers_may_create):
    assert create(client, "charlie", provider_id=str(world.charlies.pk), did="x", comment="x") == (
        "Invalid DID specified"
    )


def test_13_before_14(client, world, resellers_may_create):
    params = {"provider_id": str(world.charlies.pk), "did": "555", "comment": LONG_TEXT}
    assert create(client, "charlie", **params) == "Invalid comment: not allowed for resellers"


def test_14_before_15_before_16(client, world):
    params = {"provider_id": str(world.sys.pk), "did": "555"}
    bad = {"comment": LONG_TEXT, "reseller_comment": LONG_TEXT, "custom_sip_header": "a\nb"}
    assert create(client, "alice", **params, **bad) == (
        "Invalid comment: expected text of at most 65535 characters"
    )
    del bad["comment"]
    assert create(client, "alice", **params, **bad) == (
        "Invalid reseller_comment: expected text of at most 65535 characters"
    )


# --- Success ---------------------------------------------------------------------


def test_admin_creates_a_free_did_listed_at_once(client, world):
    response = api(
        client,
        "did_create",
        "alice",
        provider_id=str(world.sys.pk),
        did=" 4793469588 ",
        comment="new <block> & co",
        reseller_comment="rc",
        custom_sip_header="X-Carrier: one",
    )
    did = Did.objects.get(number="4793469588")
    assert extra_of(response) == [("did_details", [("id", str(did.pk))])]
    assert (did.status, did.provider, did.reseller, did.user, did.device) == (
        "free",
        world.sys,
        None,
        None,
        None,
    )
    assert (did.comment, did.reseller_comment, did.custom_sip_header) == (
        "new <block> & co",
        "rc",
        "X-Carrier: one",
    )
    assert (did.call_limit, did.grace_time, did.language, did.ai_agent_compatible) == (
        0,
        0,
        "",
        False,
    )
    row = listed(client, world.admin, "4793469588")
    assert (row["id"], row["did_status"], row["provider"], row["comment"]) == (
        str(did.pk),
        "free",
        "Carrier One",
        "new <block> & co",
    )
    entry = last_change(did)
    assert (entry.by, entry.source, entry.action) == (world.admin, "api", "create")
    assert entry.address == "127.0.0.1"


@pytest.mark.parametrize("number", ["479k469588", "1e5", "1ABC"])
def test_letters_after_a_leading_digit_are_a_valid_number(client, world, number):
    assert succeeded(client, "did_create", "alice", provider_id=str(world.sys.pk), did=number) == (
        "DID created"
    )
    assert Did.objects.filter(number=number).exists()


def test_accountant_with_write_creates(client, world):
    assert succeeded(client, "did_create", "wendy", provider_id=str(world.sys.pk), did="555") == (
        "DID created"
    )
    assert last_change(Did.objects.get(number="555")).by == world.writer


def test_reseller_pro_creates_on_its_own_provider_while_the_setting_is_on(
    client, world, resellers_may_create
):
    assert succeeded(
        client,
        "did_create",
        "charlie",
        provider_id=str(world.charlies.pk),
        did="555",
        reseller_comment="mine",
    ) == ("DID created")
    did = Did.objects.get(number="555")
    assert (did.reseller, did.provider, did.reseller_comment, did.comment) == (
        world.charlie,
        world.charlies,
        "mine",
        "",
    )
    row = listed(client, world.charlie, "555")
    assert (row["did_status"], row["comment"]) == ("free", "mine")
    assert "owner" not in row  # held by a reseller, no end user
    assert last_change(did).source == "api"


def test_test_1_adds_the_number_and_still_creates(client, world):
    from dids.api.testing import body_of

    response = api(
        client, "did_create", "alice", provider_id=str(world.sys.pk), did="555", test="1"
    )
    did = Did.objects.get(number="555")
    page = body_of(response).decode()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert (
        f"&lt;did_details&gt;\n    &lt;id&gt;{did.pk}&lt;/id&gt;\n    &lt;did&gt;555&lt;/did&gt;"
        in page
    )


def test_a_failed_write_answers_the_failure_text_and_writes_nothing(client, world, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(services, "did_create", broken)
    before = state()
    assert create(client, "alice", provider_id=str(world.sys.pk), did="555") == (
        "DID creation failed"
    )
    assert state() == before


def test_a_race_for_the_number_is_already_exists(client, world, monkeypatch):
    def lost(**kwargs):
        raise services.DidActionRefused("exists", "DID 555 already exists.")

    monkeypatch.setattr(services, "did_create", lost)
    assert create(client, "alice", provider_id=str(world.sys.pk), did="555") == "DID already exists"


def test_creation_writes_no_audit_entry(client, world):
    succeeded(client, "did_create", "alice", provider_id=str(world.sys.pk), did="555")
    assert not AuditEntry.objects.exists()
