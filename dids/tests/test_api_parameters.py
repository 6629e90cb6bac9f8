"""dids_get's parameters (dids_get.md §4): good, boundary and malformed values, role rules,
the order of results and the order in which malformed values are reported."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from dids.api.testing import SECRET_HASH, call, error_of, rows_of, sha1
from dids.models import DialPlan, Did
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


@pytest.fixture
def world(portal_admin, accountant, reseller, reseller_user, end_user, system_api):
    """A small inventory in which every parameter has something to tell apart."""
    ApiSettingsFactory(reseller=reseller, api_secret_key="secret")
    carrier = ProviderFactory(name="Carrier")
    other_carrier = ProviderFactory(name="Other carrier")
    ivr = DialPlanFactory(name="Support", type=DialPlan.Type.IVR)
    queue = DialPlanFactory(name="Queue", type=DialPlan.Type.QUEUE)
    pbx = DeviceFactory(type="SIP", name="pbx", user=end_user)
    phone = DeviceFactory(type="IAX2", name="105", user=reseller_user)
    nameless = UserFactory(username="nameless", first_name="", last_name="")
    dids = {
        "a": DidFactory(number="37060000001", provider=carrier, language="en"),
        "b": DidFactory(
            number="37060000002",
            provider=carrier,
            user=end_user,
            status=Did.Status.RESERVED,
            language="EN",
        ),
        "c": DidFactory(
            number="37060000010",
            provider=other_carrier,
            user=end_user,
            device=pbx,
            status=Did.Status.ACTIVE,
            language="lt",
        ),
        "d": DidFactory(number="37061000000", dial_plan=ivr, status=Did.Status.ACTIVE),
        "e": DidFactory(number="4470001", provider=other_carrier, reseller=reseller),
        "f": DidFactory(
            number="4470002",
            reseller=reseller,
            user=reseller_user,
            device=phone,
            dial_plan=queue,
            status=Did.Status.ACTIVE,
            language="en",
        ),
        "g": DidFactory(
            number="4470003",
            user=end_user,
            status=Did.Status.CLOSED,
            reserved_for_user_till=timezone.now() + timedelta(days=30),
        ),
        "h": DidFactory(number="9A100", status=Did.Status.TERMINATED, language="fr"),
        "i": DidFactory(number="9a100", user=nameless, status=Did.Status.RESERVED),
        "j": DidFactory(number="10", provider=carrier, language="en-GB"),
    }
    return {
        "dids": dids,
        "carrier": carrier,
        "other_carrier": other_carrier,
        "ivr": ivr,
        "queue": queue,
        "pbx": pbx,
        "phone": phone,
        "nameless": nameless,
    }


ALL = ["j", "a", "b", "c", "d", "e", "f", "g", "h", "i"]  # contract order: code point


def keys(world, response) -> list[str]:
    by_id = {did.id: key for key, did in world["dids"].items()}
    return [by_id[int(dict(row)["id"])] for row in rows_of(response)]


def get(client, world, u="alice", **params):
    response = call(client, {"u": u, "hash": SECRET_HASH, **params})
    if error_of(response) is not None:
        return error_of(response)
    return keys(world, response)


# --- Order ------------------------------------------------------------------------------


def test_results_are_ordered_by_number_code_point(client, world):
    # "10" < "3706…" < "4470…" < "9A100" < "9a100": digits, then upper case, then lower case.
    assert get(client, world) == ALL


# --- search_did_number ------------------------------------------------------------------


def test_did_number_partial_match(client, world):
    assert get(client, world, search_did_number="0000") == ["a", "b", "c", "d"]
    assert get(client, world, search_did_number="447") == ["e", "f", "g"]


def test_did_number_whole_number(client, world):
    assert get(client, world, search_did_number="37060000010") == ["c"]


def test_did_number_leading_zeros_are_text(client, world):
    assert get(client, world, search_did_number="0001") == ["a", "c", "e"]


def test_did_number_percent_is_the_whole_pattern(client, world):
    assert get(client, world, search_did_number="3706%") == ["a", "b", "c", "d"]
    assert get(client, world, search_did_number="%1") == ["a", "e"]
    assert get(client, world, search_did_number="%") == ALL


def test_did_number_underscore_is_one_character(client, world):
    assert get(client, world, search_did_number="447000_") == ["e", "f", "g"]
    assert get(client, world, search_did_number="__") == ["j"]


def test_did_number_is_case_insensitive(client, world):
    assert get(client, world, search_did_number="a1") == ["h", "i"]
    assert get(client, world, search_did_number="9A100") == ["h", "i"]


def test_did_number_without_match(client, world):
    assert get(client, world, search_did_number="5555") == "No DIDs found"


def test_did_number_backslash_is_not_an_escape(client, world):
    DidFactory(number="7\\1")  # a stored oddity: the backslash is an ordinary character
    assert (
        len(rows_of(call(client, {"u": "alice", "hash": SECRET_HASH, "search_did_number": "7\\1"})))
        == 1
    )


# --- search_status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("free", ["j", "a", "e"]),
        ("reserved", ["b", "i"]),
        ("active", ["c", "d", "f"]),
        ("closed", ["g"]),
        ("terminated", ["h"]),
        ("FREE", ["j", "a", "e"]),
        ("Active", ["c", "d", "f"]),
    ],
)
def test_status(client, world, value, expected):
    assert get(client, world, search_status=value) == expected


def test_a_reseller_held_did_matches_by_its_own_status(client, world):
    """(decision) no 'held by a reseller means reserved' as in the legacy admin view."""
    assert "e" in get(client, world, search_status="free")
    assert "f" in get(client, world, search_status="active")


@pytest.mark.parametrize("value", ["freee", " free", "all", "0", "closed,free", "fre%"])
def test_status_malformed(client, world, value):
    assert get(client, world, search_status=value) == (
        "Invalid search_status: expected one of free, reserved, active, closed, terminated"
    )


# --- search_did_owner ----------------------------------------------------------------------


def test_owner_partial_and_case_insensitive(client, world):
    assert get(client, world, search_did_owner="frank") == ["b", "c", "g"]
    assert get(client, world, search_did_owner="ENDUSER") == ["b", "c", "g"]


def test_owner_is_the_system_administrator_for_unheld_dids(client, world):
    assert get(client, world, search_did_owner="Alice Admin") == ["j", "a", "d", "h"]


def test_owner_of_a_reseller_held_did_is_its_end_user(client, world):
    assert get(client, world, search_did_owner="Erin") == ["f"]


def test_owner_username_when_no_names(client, world):
    assert get(client, world, search_did_owner="nameless") == ["i"]


def test_dids_without_owner_never_match(client, world):
    # "e" is held by a reseller without an end user: no owner element at all.
    assert "e" not in get(client, world, search_did_owner="%")
    assert get(client, world, search_did_owner="Charlie") == "No DIDs found"


def test_owner_patterns(client, world):
    assert get(client, world, search_did_owner="Frank%") == ["b", "c", "g"]
    assert get(client, world, search_did_owner="frank_enduser") == ["b", "c", "g"]
    assert get(client, world, search_did_owner="%Admin") == ["j", "a", "d", "h"]
    assert get(client, world, search_did_owner="Admin") == ["j", "a", "d", "h"]
    assert get(client, world, search_did_owner="Admin_") == "No DIDs found"


# --- whole-number parameters ----------------------------------------------------------------


WHOLE = "expected a whole number"


@pytest.mark.parametrize("value", ["-1", "+1", "1.0", " 1", "1 ", "one", "0x1", "\u0661", "all"])
@pytest.mark.parametrize("name", ["search_dialplan", "search_user", "search_provider"])
def test_ids_malformed(client, world, name, value):
    assert get(client, world, **{name: value}) == f"Invalid {name}: {WHOLE}"


def test_dialplan(client, world):
    assert get(client, world, search_dialplan=str(world["ivr"].id)) == ["d"]
    assert get(client, world, search_dialplan="00" + str(world["queue"].id)) == ["f"]


def test_dialplan_zero_means_none(client, world):
    assert get(client, world, search_dialplan="0") == ["j", "a", "b", "c", "e", "g", "h", "i"]
    assert get(client, world, search_dialplan="000") == ["j", "a", "b", "c", "e", "g", "h", "i"]


@pytest.mark.parametrize(
    "value", ["999999", "9223372036854775807", "9223372036854775808", "9" * 60]
)
@pytest.mark.parametrize(
    "name", ["search_dialplan", "search_user", "search_device", "search_provider"]
)
def test_huge_ids_are_valid_and_match_nothing(client, world, name, value):
    assert get(client, world, **{name: value}) == "No DIDs found"


def test_dialplan_is_ignored_for_role_user(client, world):
    assert get(client, world, u="frank", search_dialplan=str(world["ivr"].id)) == ["b", "c", "g"]


def test_dialplan_is_still_validated_for_role_user(client, world):
    assert get(client, world, u="frank", search_dialplan="x") == (
        "Invalid search_dialplan: expected a whole number"
    )


def test_user_matches_end_user(client, world):
    assert get(client, world, search_user=str(User.objects.get(username="frank").id)) == [
        "b",
        "c",
        "g",
    ]


def test_user_matches_reseller_too(client, world):
    charlie = User.objects.get(username="charlie")
    assert get(client, world, search_user=str(charlie.id)) == ["e", "f"]


def test_user_zero_means_no_end_user(client, world):
    assert get(client, world, search_user="0") == ["j", "a", "d", "e", "h"]


def test_device(client, world):
    assert get(client, world, search_device=str(world["pbx"].id)) == ["c"]


def test_device_zero_means_none(client, world):
    assert get(client, world, search_device="0") == ["j", "a", "b", "d", "e", "g", "h", "i"]


@pytest.mark.parametrize("value", ["all", "ALL", "All"])
def test_device_all_is_no_filter(client, world, value):
    assert get(client, world, search_device=value) == ALL


@pytest.mark.parametrize("value", ["none", "-1", "alll", "1,2"])
def test_device_malformed(client, world, value):
    assert get(client, world, search_device=value) == (
        "Invalid search_device: expected a whole number or all"
    )


def test_provider_for_admin_and_accountant(client, world):
    carrier = str(world["carrier"].id)
    assert get(client, world, search_provider=carrier) == ["j", "a", "b"]
    assert get(client, world, u="bob", search_provider=carrier) == ["j", "a", "b"]


def test_provider_zero_means_none(client, world):
    assert get(client, world, search_provider="0") == ["d", "f", "g", "h", "i"]


def test_provider_is_ignored_for_a_plain_reseller(client, world):
    assert get(client, world, u="charlie", search_provider=str(world["carrier"].id)) == ["e", "f"]


def test_provider_applies_for_a_reseller_pro(client, world, reseller):
    reseller.own_providers = True
    reseller.save()
    other = str(world["other_carrier"].id)
    assert get(client, world, u="charlie", search_provider=other) == ["e"]


def test_provider_is_ignored_for_users(client, world):
    assert get(client, world, u="frank", search_provider=str(world["carrier"].id)) == [
        "b",
        "c",
        "g",
    ]


def test_provider_is_validated_for_everyone(client, world):
    assert get(client, world, u="charlie", search_provider="x") == (
        "Invalid search_provider: expected a whole number"
    )
    assert get(client, world, u="frank", search_provider="-3") == (
        "Invalid search_provider: expected a whole number"
    )


# --- search_language -----------------------------------------------------------------------


def test_language_exact_and_case_insensitive(client, world):
    assert get(client, world, search_language="en") == ["a", "b", "f"]
    assert get(client, world, search_language="EN") == ["a", "b", "f"]
    assert get(client, world, search_language="en-gb") == ["j"]


def test_language_is_not_a_partial_match(client, world):
    assert get(client, world, search_language="e") == "No DIDs found"
    assert get(client, world, search_language="en%") == "No DIDs found"


@pytest.mark.parametrize("value", ["all", "ALL", "aLl"])
def test_language_all_is_no_filter(client, world, value):
    assert get(client, world, search_language=value) == ALL


# --- search_hide_terminated_dids ------------------------------------------------------------


def test_hide_terminated(client, world):
    assert get(client, world, search_hide_terminated_dids="1") == [k for k in ALL if k != "h"]
    assert get(client, world, search_hide_terminated_dids="0") == ALL


@pytest.mark.parametrize("value", ["2", "true", "yes", "01", "-1", "on"])
def test_hide_terminated_malformed(client, world, value):
    assert get(client, world, search_hide_terminated_dids=value) == (
        "Invalid search_hide_terminated_dids: expected 0 or 1"
    )


# --- from and max_results -------------------------------------------------------------------


def test_from_is_one_based(client, world):
    assert get(client, world, **{"from": "1"}) == ALL
    assert get(client, world, **{"from": "3"}) == ALL[2:]
    assert get(client, world, **{"from": "010"}) == ALL[9:]


def test_from_past_the_end_is_no_dids(client, world):
    assert get(client, world, **{"from": "11"}) == "No DIDs found"
    assert get(client, world, **{"from": "9" * 40}) == "No DIDs found"


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854775808",  # 2**63: the offset is 2**63 - 1, still a bigint
        "9223372036854775809",  # the offset no longer fits a bigint (nor SQLite's integer)
        "9" * 19,  # as many digits as the largest bigint, and larger
        "00009223372036854775809",
    ],
)
def test_from_beyond_any_offset_is_no_dids(client, world, value):
    # A value too large for any row is valid and matches nothing (§4): never a
    # database error on the OFFSET, with or without max_results.
    assert get(client, world, **{"from": value}) == "No DIDs found"
    assert get(client, world, **{"from": value}, max_results="1") == "No DIDs found"
    assert get(client, world, **{"from": value}, max_results="9" * 19) == "No DIDs found"


def test_max_results(client, world):
    assert get(client, world, max_results="1") == ALL[:1]
    assert get(client, world, max_results="0003") == ALL[:3]
    assert get(client, world, max_results="9" * 40) == ALL


def test_from_and_max_results_window_the_filtered_list(client, world):
    assert get(client, world, search_status="active", **{"from": "2"}, max_results="1") == ["d"]


@pytest.mark.parametrize("value", ["0", "00", "-1", "1.5", "x", "all"])
@pytest.mark.parametrize("name", ["from", "max_results"])
def test_window_malformed(client, world, name, value):
    assert get(client, world, **{name: value}) == (
        f"Invalid {name}: expected a whole number of at least 1"
    )


# --- Combined and reported in order ------------------------------------------------------


def test_filters_combine_with_and(client, world):
    assert get(client, world, search_status="active", search_language="en") == ["f"]
    assert get(client, world, search_status="active", search_did_number="3706") == ["c", "d"]


def test_filters_stay_within_visibility(client, world):
    assert get(client, world, u="erin", search_did_number="%") == ["f"]
    assert get(client, world, u="charlie", search_status="active") == ["f"]
    assert get(client, world, u="frank", search_user="0") == "No DIDs found"


def test_malformed_values_are_reported_in_table_order(client, world):
    everything_wrong = {
        "search_status": "x",
        "search_dialplan": "x",
        "search_user": "x",
        "search_device": "x",
        "search_provider": "x",
        "search_hide_terminated_dids": "x",
        "from": "x",
        "max_results": "x",
    }
    expected = [
        "Invalid search_status: expected one of free, reserved, active, closed, terminated",
        "Invalid search_dialplan: expected a whole number",
        "Invalid search_user: expected a whole number",
        "Invalid search_device: expected a whole number or all",
        "Invalid search_provider: expected a whole number",
        "Invalid search_hide_terminated_dids: expected 0 or 1",
        "Invalid from: expected a whole number of at least 1",
        "Invalid max_results: expected a whole number of at least 1",
    ]
    params = dict(everything_wrong)
    for text in expected:
        assert get(client, world, **params) == text
        params.pop(next(iter(params)))


def test_legacy_hash_with_reseller(client, world):
    assert error_of(call(client, {"u": "charlie", "hash": sha1("secret")})) is None
