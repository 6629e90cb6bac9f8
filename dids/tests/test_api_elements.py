"""The `<did>` elements (dids_get.md §5): exact sequence of (tag, text) for each role, on DIDs
in every status, held or not by a reseller, with and without user, device, dial plan, comments;
well-formed XML whatever the stored text; closed DIDs past their date are released first."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from dids.api.renderers import _NEEDS_WORK, xml_text
from dids.api.serializers import DidSerializer
from dids.api.testing import SECRET_HASH, body_of, call, error_of, rows_of
from dids.models import DialPlan, Did, DidHistory
from dids.presentation import ELEMENTS
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

CHANGED = datetime(2026, 5, 27, 7, 35, 57, 999999, tzinfo=UTC)  # fractions are cut
CHANGED_TEXT = "2026-05-27T07:35:57Z"
TILL = datetime(2031, 1, 15, 12, 0, 0, 500000, tzinfo=UTC)
TILL_TEXT = "2031-01-15T12:00:00Z"


def test_serializer_fields_are_the_contracts_elements_in_order():
    assert tuple(DidSerializer._declared_fields) == ELEMENTS


@pytest.fixture
def catalogue(portal_admin, accountant, reseller, reseller_user, end_user, system_api):
    ApiSettingsFactory(reseller=reseller, api_secret_key="secret")
    provider = ProviderFactory(name="Test Provider")
    pbx = DeviceFactory(type="SIP", name="pbx", extension="201", user=end_user)
    iax = DeviceFactory(type="IAX2", name="105", extension="105", user=reseller_user)
    fax = DeviceFactory(type="FAX", name="", extension="302", user=reseller_user)
    plan = DialPlanFactory(name="testDialPlan", type=DialPlan.Type.AUTHBYPIN)
    common = {"updated_at": CHANGED}
    dids = {
        # Nobody holds it, nothing assigned, never changed.
        "bare": DidFactory(number="100", updated_at=None),
        # The system's end user, in use, with a main and a (stale) reseller comment.
        "frank_active": DidFactory(
            number="101",
            status=Did.Status.ACTIVE,
            provider=provider,
            user=end_user,
            device=pbx,
            language="language",
            tone_zone="it",
            comment="main line",
            reseller_comment="ignored here",
            ai_agent_compatible=True,
            routes_to_openai_project_id="proj_frontdesk",
            **common,
        ),
        # Active on a dial plan, nobody holds it.
        "plan_active": DidFactory(
            number="102", status=Did.Status.ACTIVE, dial_plan=plan, call_limit=5, **common
        ),
        # Closed for the system's end user, with and without a date.
        "frank_closed": DidFactory(
            number="103",
            status=Did.Status.CLOSED,
            user=end_user,
            reserved_for_user_till=TILL,
            **common,
        ),
        "frank_closed_undated": DidFactory(
            number="104", status=Did.Status.CLOSED, user=end_user, **common
        ),
        "terminated": DidFactory(
            number="105", status=Did.Status.TERMINATED, provider=provider, **common
        ),
        # Held by the reseller: stock, reserved for its user, active on a fax, closed.
        "stock": DidFactory(
            number="200", reseller=reseller, provider=provider, reseller_comment="stock", **common
        ),
        "erin_reserved": DidFactory(
            number="201",
            status=Did.Status.RESERVED,
            reseller=reseller,
            user=reseller_user,
            comment="admin note",
            reseller_comment="for Erin",
            language="en-GB",
            **common,
        ),
        "erin_active": DidFactory(
            number="202",
            status=Did.Status.ACTIVE,
            reseller=reseller,
            user=reseller_user,
            device=iax,
            dial_plan=plan,
            tone_zone="uk",
            call_limit=10,
            **common,
        ),
        "erin_fax": DidFactory(
            number="203",
            status=Did.Status.ACTIVE,
            reseller=reseller,
            user=reseller_user,
            device=fax,
            **common,
        ),
        "erin_closed": DidFactory(
            number="204",
            status=Did.Status.CLOSED,
            reseller=reseller,
            user=reseller_user,
            reserved_for_user_till=TILL,
            **common,
        ),
        "reseller_terminated": DidFactory(
            number="205", status=Did.Status.TERMINATED, reseller=reseller, **common
        ),
    }
    return {"dids": dids, "pbx": pbx, "iax": iax, "fax": fax}


def rows_for(client, username, **params):
    response = call(client, {"u": username, "hash": SECRET_HASH, **params})
    return {dict(row)["did"]: row for row in rows_of(response)}


def expected(catalogue, key, *pairs):
    """The (tag, text) list, with `id` filled in (ids differ between runs)."""
    did = catalogue["dids"][key]
    return [(tag, str(did.id) if text == "<id>" else text) for tag, text in pairs]


def uid(username):
    return str(User.objects.get(username=username).id)


# --- Admin (and accountant: the same elements) -----------------------------------------


def admin_view(catalogue):
    c = catalogue
    return {
        "100": expected(c, "bare",
            ("did", "100"), ("did_number", "100"), ("provider", ""), ("language", ""),
            ("status", "Free"), ("did_status", "free"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("owner", "Alice Admin"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""),
            ("id", "<id>")),
        "101": expected(c, "frank_active",
            ("did", "101"), ("did_number", "101"), ("provider", "Test Provider"),
            ("language", "language"), ("status", "Active"), ("did_status", "active"),
            ("ai_agent_compatible", "true"), ("routes_to_openai_project_id", "proj_frontdesk"),
            ("updated_at", CHANGED_TEXT), ("owner", "Frank Enduser"), ("device", "SIP/pbx"),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"),
            ("comment", "main line"), ("tone_zone", "it"), ("id", "<id>"),
            ("device_id", str(c["pbx"].id)), ("user_id", uid("frank"))),
        "102": expected(c, "plan_active",
            ("did", "102"), ("did_number", "102"), ("provider", ""), ("language", ""),
            ("status", "Active"), ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Alice Admin"), ("device", ""),
            ("dial_plan", "testDialPlan (authbypin)"), ("simultaneous_call_limit", "5"),
            ("tone_zone", ""), ("id", "<id>")),
        "103": expected(c, "frank_closed",
            ("did", "103"), ("did_number", "103"), ("provider", ""), ("language", ""),
            ("status", "Closed"), ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Frank Enduser"), ("device", ""), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""), ("id", "<id>"),
            ("user_id", uid("frank")), ("reserved_for_user_till", TILL_TEXT)),
        "104": expected(c, "frank_closed_undated",
            ("did", "104"), ("did_number", "104"), ("provider", ""), ("language", ""),
            ("status", "Closed"), ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Frank Enduser"), ("device", ""), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""), ("id", "<id>"),
            ("user_id", uid("frank"))),
        "105": expected(c, "terminated",
            ("did", "105"), ("did_number", "105"), ("provider", "Test Provider"),
            ("language", ""), ("status", "Terminated"), ("did_status", "terminated"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("owner", "Alice Admin"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""),
            ("id", "<id>")),
        "200": expected(c, "stock",
            ("did", "200"), ("did_number", "200"), ("provider", "Test Provider"),
            ("language", ""), ("status", "Free"), ("did_status", "free"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("reseller", "Charlie Resale"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""),
            ("id", "<id>")),
        "201": expected(c, "erin_reserved",
            ("did", "201"), ("did_number", "201"), ("provider", ""), ("language", "en-GB"),
            ("status", "Reserved"), ("did_status", "reserved"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("reseller", "Charlie Resale"),
            ("owner", "Erin Customer"), ("device", ""), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("comment", "admin note"),
            ("tone_zone", ""), ("id", "<id>"), ("user_id", uid("erin"))),
        "202": expected(c, "erin_active",
            ("did", "202"), ("did_number", "202"), ("provider", ""), ("language", ""),
            ("status", "Active"), ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("reseller", "Charlie Resale"), ("owner", "Erin Customer"),
            ("device", "IAX2/105"), ("dial_plan", "testDialPlan (authbypin)"),
            ("simultaneous_call_limit", "10"), ("tone_zone", "uk"), ("id", "<id>"),
            ("device_id", str(c["iax"].id)), ("user_id", uid("erin"))),
        "203": expected(c, "erin_fax",
            ("did", "203"), ("did_number", "203"), ("provider", ""), ("language", ""),
            ("status", "Active"), ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("reseller", "Charlie Resale"), ("owner", "Erin Customer"),
            ("device", "FAX/302"), ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"),
            ("tone_zone", ""), ("id", "<id>"), ("device_id", str(c["fax"].id)),
            ("user_id", uid("erin"))),
        "204": expected(c, "erin_closed",
            ("did", "204"), ("did_number", "204"), ("provider", ""), ("language", ""),
            ("status", "Closed"), ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("reseller", "Charlie Resale"), ("owner", "Erin Customer"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""),
            ("id", "<id>"), ("user_id", uid("erin")), ("reserved_for_user_till", TILL_TEXT)),
        "205": expected(c, "reseller_terminated",
            ("did", "205"), ("did_number", "205"), ("provider", ""), ("language", ""),
            ("status", "Terminated"), ("did_status", "terminated"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("reseller", "Charlie Resale"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""),
            ("id", "<id>")),
    }  # fmt: skip


def test_admin_sees_every_element(client, catalogue):
    assert rows_for(client, "alice") == admin_view(catalogue)


def test_accountant_sees_what_an_admin_sees(client, catalogue):
    assert rows_for(client, "bob") == admin_view(catalogue)


def test_rows_come_in_contract_order(client, catalogue):
    assert list(rows_for(client, "alice")) == [
        "100", "101", "102", "103", "104", "105", "200", "201", "202", "203", "204", "205",
    ]  # fmt: skip


# --- Reseller: no provider, no reseller; the reseller's comment ------------------------


def test_reseller_sees_its_dids_without_provider_and_reseller(client, catalogue):
    c = catalogue
    assert rows_for(client, "charlie") == {
        "200": expected(c, "stock",
            ("did", "200"), ("did_number", "200"), ("language", ""), ("status", "Free"),
            ("did_status", "free"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("device", ""), ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"),
            ("comment", "stock"), ("tone_zone", ""), ("id", "<id>")),
        "201": expected(c, "erin_reserved",
            ("did", "201"), ("did_number", "201"), ("language", "en-GB"),
            ("status", "Reserved"), ("did_status", "reserved"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("owner", "Erin Customer"), ("device", ""),
            ("dial_plan", ""), ("simultaneous_call_limit", "Unlimited"),
            ("comment", "for Erin"), ("tone_zone", ""), ("id", "<id>"),
            ("user_id", uid("erin"))),
        "202": expected(c, "erin_active",
            ("did", "202"), ("did_number", "202"), ("language", ""), ("status", "Active"),
            ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", "IAX2/105"),
            ("dial_plan", "testDialPlan (authbypin)"), ("simultaneous_call_limit", "10"),
            ("tone_zone", "uk"), ("id", "<id>"), ("device_id", str(c["iax"].id)),
            ("user_id", uid("erin"))),
        "203": expected(c, "erin_fax",
            ("did", "203"), ("did_number", "203"), ("language", ""), ("status", "Active"),
            ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", "FAX/302"), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""), ("id", "<id>"),
            ("device_id", str(c["fax"].id)), ("user_id", uid("erin"))),
        "204": expected(c, "erin_closed",
            ("did", "204"), ("did_number", "204"), ("language", ""), ("status", "Closed"),
            ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", ""), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""), ("id", "<id>"),
            ("user_id", uid("erin")), ("reserved_for_user_till", TILL_TEXT)),
        "205": expected(c, "reseller_terminated",
            ("did", "205"), ("did_number", "205"), ("language", ""),
            ("status", "Terminated"), ("did_status", "terminated"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("device", ""), ("dial_plan", ""),
            ("simultaneous_call_limit", "Unlimited"), ("tone_zone", ""), ("id", "<id>")),
    }  # fmt: skip


# --- Users: no provider, reseller, dial plan, tone zone; their side's comment -------------


def test_reseller_user_sees_the_resellers_comment(client, catalogue):
    c = catalogue
    assert rows_for(client, "erin") == {
        "201": expected(c, "erin_reserved",
            ("did", "201"), ("did_number", "201"), ("language", "en-GB"),
            ("status", "Reserved"), ("did_status", "reserved"),
            ("ai_agent_compatible", "false"), ("routes_to_openai_project_id", ""),
            ("updated_at", CHANGED_TEXT), ("owner", "Erin Customer"), ("device", ""),
            ("simultaneous_call_limit", "Unlimited"), ("comment", "for Erin"),
            ("id", "<id>"), ("user_id", uid("erin"))),
        "202": expected(c, "erin_active",
            ("did", "202"), ("did_number", "202"), ("language", ""), ("status", "Active"),
            ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", "IAX2/105"),
            ("simultaneous_call_limit", "10"), ("id", "<id>"),
            ("device_id", str(c["iax"].id)), ("user_id", uid("erin"))),
        "203": expected(c, "erin_fax",
            ("did", "203"), ("did_number", "203"), ("language", ""), ("status", "Active"),
            ("did_status", "active"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", "FAX/302"),
            ("simultaneous_call_limit", "Unlimited"), ("id", "<id>"),
            ("device_id", str(c["fax"].id)), ("user_id", uid("erin"))),
        "204": expected(c, "erin_closed",
            ("did", "204"), ("did_number", "204"), ("language", ""), ("status", "Closed"),
            ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Erin Customer"), ("device", ""),
            ("simultaneous_call_limit", "Unlimited"), ("id", "<id>"),
            ("user_id", uid("erin")), ("reserved_for_user_till", TILL_TEXT)),
    }  # fmt: skip


def test_system_user_sees_the_main_comment(client, catalogue):
    c = catalogue
    assert rows_for(client, "frank") == {
        "101": expected(c, "frank_active",
            ("did", "101"), ("did_number", "101"), ("language", "language"),
            ("status", "Active"), ("did_status", "active"), ("ai_agent_compatible", "true"),
            ("routes_to_openai_project_id", "proj_frontdesk"), ("updated_at", CHANGED_TEXT),
            ("owner", "Frank Enduser"), ("device", "SIP/pbx"),
            ("simultaneous_call_limit", "Unlimited"), ("comment", "main line"),
            ("id", "<id>"), ("device_id", str(c["pbx"].id)), ("user_id", uid("frank"))),
        "103": expected(c, "frank_closed",
            ("did", "103"), ("did_number", "103"), ("language", ""), ("status", "Closed"),
            ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Frank Enduser"), ("device", ""),
            ("simultaneous_call_limit", "Unlimited"), ("id", "<id>"),
            ("user_id", uid("frank")), ("reserved_for_user_till", TILL_TEXT)),
        "104": expected(c, "frank_closed_undated",
            ("did", "104"), ("did_number", "104"), ("language", ""), ("status", "Closed"),
            ("did_status", "closed"), ("ai_agent_compatible", "false"),
            ("routes_to_openai_project_id", ""), ("updated_at", CHANGED_TEXT),
            ("owner", "Frank Enduser"), ("device", ""),
            ("simultaneous_call_limit", "Unlimited"), ("id", "<id>"),
            ("user_id", uid("frank"))),
    }  # fmt: skip


# --- Owner and display names ------------------------------------------------------------


def test_without_a_system_administrator_the_owner_is_empty(client, other_admin, system_api):
    did = DidFactory(number="1")
    row = dict(rows_for(client, "arthur")["1"])
    assert row["owner"] == ""
    assert row["id"] == str(did.id)


def test_display_name_falls_back_to_the_username(client, portal_admin, system_api):
    UserFactory(username="solo", first_name="", last_name="", role=User.Role.USER)
    UserFactory(username="half", first_name="", last_name="Only", role=User.Role.USER)
    DidFactory(number="1", user=User.objects.get(username="solo"))
    DidFactory(number="2", user=User.objects.get(username="half"))
    rows = rows_for(client, "alice")
    assert dict(rows["1"])["owner"] == "solo"
    assert dict(rows["2"])["owner"] == "Only"


def test_comment_is_never_truncated(client, portal_admin, system_api):
    DidFactory(number="1", comment="x" * 5000)
    assert dict(rows_for(client, "alice")["1"])["comment"] == "x" * 5000


# --- Well-formed whatever the data -------------------------------------------------------


# No NUL: PostgreSQL cannot store it (xml_text's own test covers it).
NASTY = "a<b>&c\"d'e ]]> ünï 中文 🎉 \x01\x08\x0b\x0c\x1f\ufffe\uffff tab\there\nline\rcr"
NASTY_READ_BACK = "a<b>&c\"d'e ]]> ünï 中文 🎉  tab\there\nline\rcr"


def test_xml_text_escapes_markup_and_drops_forbidden_characters():
    assert xml_text("<a>&") == "&lt;a&gt;&amp;"
    assert xml_text("\x00\x07\ufffe\uffffok\ud800") == "ok"
    assert xml_text("\r") == "&#13;"
    assert xml_text("\t\n€𝄞") == "\t\n€𝄞"


def test_the_quick_check_flags_exactly_the_characters_that_need_work():
    """`_NEEDS_WORK` (one class, searched over a whole row) says "work" for a character
    exactly when xml_text would change it: every code point of the BMP, and the astral
    planes' edges."""
    code_points = [*range(0x10000), 0x10000, 0x1D11E, 0x10FFFF]
    for code in code_points:
        char = chr(code)
        assert (_NEEDS_WORK.search(char) is not None) == (xml_text(char) != char), hex(code)


def test_any_stored_text_gives_well_formed_xml(client, portal_admin, system_api):
    nasty_user = UserFactory(username="nasty", first_name="<Ann>", last_name="&\x07Co")
    DidFactory(
        number="1",
        user=nasty_user,
        comment=NASTY,
        language="<&>",
        tone_zone="\x1b[0m",
        routes_to_openai_project_id="proj_\u2028",
        provider=ProviderFactory(name="A&B <Carrier>"),
    )
    response = call(client, {"u": "alice", "hash": SECRET_HASH})
    row = dict(rows_of(response)[0])  # rows_of parses strictly
    assert row["comment"] == NASTY_READ_BACK
    assert row["owner"] == "<Ann> &Co"
    assert row["language"] == "<&>"
    assert row["tone_zone"] == "[0m"
    assert row["provider"] == "A&B <Carrier>"
    assert row["routes_to_openai_project_id"] == "proj_\u2028"
    body = body_of(response)
    assert "ünï 中文 🎉".encode() in body  # non-ASCII kept as UTF-8, not as references


def test_test_page_survives_the_same_data(client, portal_admin, system_api):
    DidFactory(number="1", comment=NASTY)
    response = call(client, {"u": "alice", "hash": SECRET_HASH, "test": "1"})
    page = body_of(response).decode("utf-8")
    assert "\x01" not in page
    assert "&lt;comment&gt;a&amp;lt;b&amp;gt;&amp;amp;c" in page


# --- Closed DIDs past their date are released before listing -------------------------------


def test_expired_closed_did_is_listed_as_released(
    client, portal_admin, reseller, reseller_user, end_user, system_api
):
    past = timezone.now() - timedelta(minutes=1)
    pbx = DeviceFactory(user=end_user)
    mine = DidFactory(
        number="1", status=Did.Status.CLOSED, user=end_user, device=pbx, reserved_for_user_till=past
    )
    held = DidFactory(
        number="2",
        status=Did.Status.CLOSED,
        reseller=reseller,
        user=reseller_user,
        reserved_for_user_till=past,
    )
    rows = rows_for(client, "alice")
    first, second = dict(rows["1"]), dict(rows["2"])
    assert (first["status"], first["did_status"]) == ("Free", "free")
    assert first["owner"] == "Alice Admin"
    assert first["device"] == ""
    assert "user_id" not in first
    assert "device_id" not in first
    assert "reserved_for_user_till" not in first
    assert second["did_status"] == "free"
    assert second["reseller"] == "Charlie Resale"
    assert "owner" not in second  # held by a reseller, no end user any more
    for did in (mine, held):
        assert did.history.get().source == DidHistory.Source.SYSTEM


def test_a_user_no_longer_sees_its_released_did(client, end_user, system_api):
    DidFactory(
        number="1",
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now() - timedelta(seconds=1),
    )
    DidFactory(number="2", user=end_user, status=Did.Status.RESERVED)
    assert list(rows_for(client, "frank")) == ["2"]


def test_closed_filter_never_shows_an_expired_did(client, portal_admin, end_user, system_api):
    DidFactory(
        number="1",
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now() - timedelta(seconds=1),
    )
    response = call(client, {"u": "alice", "hash": SECRET_HASH, "search_status": "closed"})
    assert error_of(response) == "No DIDs found"
