"""dids_get's order of checks (dids_get.md §3), one test per row and the first failure wins."""

import pytest

from accounts.models import User
from dids.api.testing import SECRET_HASH, call, error_of, ids_of, sha1
from dids.models import Did
from portal.testing.factories import (
    AccountantGroupFactory,
    ApiPermissionGroupFactory,
    ApiSettingsFactory,
    DidFactory,
    UserFactory,
)

RESELLER_HASH = sha1("reseller-secret")


@pytest.fixture
def reseller_api(reseller):
    return ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="reseller-secret")


@pytest.fixture
def stock(reseller, reseller_user, end_user):
    """One DID nobody holds, one of the system's end user, two held by the reseller."""
    return {
        "unheld": DidFactory(number="100"),
        "end_user": DidFactory(number="101", user=end_user, status=Did.Status.RESERVED),
        "reseller_stock": DidFactory(number="102", reseller=reseller),
        "reseller_user": DidFactory(
            number="103", reseller=reseller, user=reseller_user, status=Did.Status.RESERVED
        ),
    }


def ask(client, **params):
    return error_of(call(client, params))


# --- 1. Access Denied --------------------------------------------------------------


def test_missing_u_is_access_denied(client, system_api, stock):
    assert ask(client, hash=SECRET_HASH) == "Access Denied"


def test_empty_u_is_access_denied(client, system_api, stock):
    assert ask(client, u="", hash=SECRET_HASH) == "Access Denied"


def test_unknown_u_is_access_denied(client, system_api, stock):
    assert ask(client, u="mallory", hash=SECRET_HASH) == "Access Denied"


def test_u_is_case_sensitive(client, portal_admin, system_api, stock):
    assert ask(client, u="Alice", hash=SECRET_HASH) == "Access Denied"
    assert ask(client, u="alice ", hash=SECRET_HASH) == "Access Denied"
    assert ask(client, u="alice", hash=SECRET_HASH) is None


def test_disabled_account_is_access_denied(client, portal_admin, system_api, stock):
    portal_admin.is_active = False
    portal_admin.save()
    assert ask(client, u="alice", hash=SECRET_HASH) == "Access Denied"


def test_password_is_ignored(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", p="wrong", hash=SECRET_HASH) is None


# --- 2. API Requests are disabled --------------------------------------------------


def test_no_system_settings_means_api_disabled(client, portal_admin, stock):
    assert ask(client, u="alice", hash=SECRET_HASH) == "API Requests are disabled"


def test_system_allow_api_off_disables_the_api(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=False, api_secret_key="secret")
    assert ask(client, u="alice", hash=SECRET_HASH) == "API Requests are disabled"


def test_reseller_needs_its_own_allow_api(client, reseller, system_api, stock):
    ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="reseller-secret")
    assert ask(client, u="charlie", hash=RESELLER_HASH) == "API Requests are disabled"


def test_reseller_without_settings_row_is_disabled(client, reseller, system_api, stock):
    assert ask(client, u="charlie", hash=RESELLER_HASH) == "API Requests are disabled"


def test_reseller_needs_the_system_allow_api_too(client, reseller, stock):
    ApiSettingsFactory(reseller=None, allow_api=False, api_secret_key="secret")
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="reseller-secret")
    assert ask(client, u="charlie", hash=RESELLER_HASH) == "API Requests are disabled"


def test_reseller_user_follows_its_resellers_allow_api(client, reseller, system_api, stock):
    ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="reseller-secret")
    UserFactory(username="erin", role=User.Role.USER, owner=reseller)
    assert ask(client, u="erin", hash=RESELLER_HASH) == "API Requests are disabled"


def test_a_resellers_switch_does_not_affect_the_system_side(
    client, portal_admin, reseller, system_api, stock
):
    ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="reseller-secret")
    assert ask(client, u="alice", hash=SECRET_HASH) is None


# --- 3. GET Requests are disabled --------------------------------------------------


def test_get_is_refused_by_default(client, portal_admin, system_api, stock):
    response = call(client, {"u": "alice", "hash": SECRET_HASH}, method="get")
    assert response.status_code == 200
    assert error_of(response) == "GET Requests are disabled"


def test_get_is_served_when_the_system_allows_it(client, portal_admin, system_api, stock):
    system_api.allow_get_api = True
    system_api.save()
    response = call(client, {"u": "alice", "hash": SECRET_HASH}, method="get")
    assert ids_of(response) == [d.id for d in stock.values()]


def test_only_the_system_allow_get_counts(client, reseller, system_api, stock):
    ApiSettingsFactory(
        reseller=reseller, allow_api=True, api_secret_key="reseller-secret", allow_get_api=True
    )
    response = call(client, {"u": "charlie", "hash": RESELLER_HASH}, method="get")
    assert error_of(response) == "GET Requests are disabled"


# --- 4. API must have Secret Key ----------------------------------------------------


def test_hash_checking_without_a_secret_is_refused(client, portal_admin, stock):
    # A historical state: clean() refuses it in forms, but a scenario may load it.
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="")
    assert ask(client, u="alice", hash=sha1("")) == "API must have Secret Key"


def test_reseller_without_a_secret_is_refused(client, reseller, system_api, stock):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="")
    assert ask(client, u="charlie", hash=SECRET_HASH) == "API must have Secret Key"


def test_no_secret_is_fine_when_hash_checking_is_off(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="", disable_hash_checking=True)
    assert ask(client, u="alice") is None


# --- 5. Incorrect hash ---------------------------------------------------------------


def test_missing_hash_is_incorrect(client, portal_admin, system_api, stock):
    assert ask(client, u="alice") == "Incorrect hash"


def test_wrong_hash_is_incorrect(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=sha1("not-the-secret")) == "Incorrect hash"
    assert ask(client, u="alice", hash=SECRET_HASH[:-1]) == "Incorrect hash"
    assert ask(client, u="alice", hash="e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4 ") == (
        "Incorrect hash"
    )


def test_the_contracts_worked_example_hash_is_accepted(client, portal_admin, system_api, stock):
    assert SECRET_HASH == "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
    assert ask(client, u="alice", hash="e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4") is None


def test_upper_case_hash_is_accepted(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=SECRET_HASH.upper()) is None


def test_search_parameters_are_not_hashed(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=SECRET_HASH, search_status="free") is None
    assert ask(client, u="alice", hash=sha1("free" + "secret"), search_status="free") == (
        "Incorrect hash"
    )


def test_a_legacy_hashed_parameter_enters_the_hash(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", s_call_type="all", hash=sha1("allsecret")) is None
    assert ask(client, u="alice", s_call_type="all", hash=SECRET_HASH) == "Incorrect hash"


def test_legacy_hashed_parameters_enter_in_the_fixed_order(client, portal_admin, system_api, stock):
    # hash_keys.txt: s_user (line 90) comes before s_call_type (line 91), user_id first.
    params = {"u": "alice", "s_call_type": "all", "s_user": "7", "user_id": "3"}
    assert ask(client, **params, hash=sha1("37allsecret")) is None
    assert ask(client, **params, hash=sha1("all73secret")) == "Incorrect hash"


def test_an_empty_legacy_hashed_parameter_does_not_count(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", s_call_type="", hash=SECRET_HASH) is None


def test_reseller_hashes_with_its_own_secret(client, reseller, system_api, reseller_api, stock):
    assert ask(client, u="charlie", hash=SECRET_HASH) == "Incorrect hash"
    assert ask(client, u="charlie", hash=RESELLER_HASH) is None


def test_reseller_user_hashes_with_its_resellers_secret(
    client, reseller_user, system_api, reseller_api, stock
):
    assert ask(client, u="erin", hash=SECRET_HASH) == "Incorrect hash"
    assert ask(client, u="erin", hash=RESELLER_HASH) is None


def test_system_owned_user_hashes_with_the_system_secret(
    client, end_user, system_api, reseller_api, stock
):
    assert ask(client, u="frank", hash=RESELLER_HASH) == "Incorrect hash"
    assert ask(client, u="frank", hash=SECRET_HASH) is None


def test_disabled_hash_checking_needs_no_hash(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, disable_hash_checking=True)
    assert ask(client, u="alice") is None
    assert ask(client, u="alice", hash="anything at all") is None


def test_the_resellers_settings_decide_on_hash_checking(client, reseller, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, disable_hash_checking=True)
    settings = ApiSettingsFactory(reseller=reseller, api_secret_key="reseller-secret")
    assert ask(client, u="charlie") == "Incorrect hash"
    settings.disable_hash_checking = True
    settings.save()
    assert ask(client, u="charlie") is None


def test_system_hash_checking_off_does_not_spare_a_reseller(client, reseller, reseller_api, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, disable_hash_checking=True)
    assert ask(client, u="charlie") == "Incorrect hash"


# --- 6. API method not permitted ------------------------------------------------------


def test_api_restricted_without_group_is_not_permitted(client, end_user, system_api, stock):
    end_user.api_restricted = True
    end_user.save()
    assert ask(client, u="frank", hash=SECRET_HASH) == "API method not permitted: dids_get"


def test_api_restricted_with_a_group_without_dids_get(client, end_user, system_api, stock):
    end_user.api_restricted = True
    end_user.api_permission_group = ApiPermissionGroupFactory(methods={"dids_get": "disabled"})
    end_user.save()
    assert ask(client, u="frank", hash=SECRET_HASH) == "API method not permitted: dids_get"


def test_api_restricted_with_an_empty_group(client, end_user, system_api, stock):
    end_user.api_restricted = True
    end_user.api_permission_group = ApiPermissionGroupFactory(methods={})
    end_user.save()
    assert ask(client, u="frank", hash=SECRET_HASH) == "API method not permitted: dids_get"


def test_api_restricted_with_dids_get_allowed(client, end_user, dids_get_group, system_api, stock):
    end_user.api_restricted = True
    end_user.api_permission_group = dids_get_group
    end_user.save()
    assert ids_of(call(client, {"u": "frank", "hash": SECRET_HASH})) == [stock["end_user"].id]


def test_a_group_matters_only_when_api_restricted(client, end_user, system_api, stock):
    end_user.api_permission_group = ApiPermissionGroupFactory(methods={"dids_get": "disabled"})
    end_user.save()
    assert ask(client, u="frank", hash=SECRET_HASH) is None


def test_api_restricted_accountant(client, accountant, system_api, stock):
    accountant.api_restricted = True
    accountant.save()
    assert ask(client, u="bob", hash=SECRET_HASH) == "API method not permitted: dids_get"


# --- 7. You are not authorized to manage DIDs -----------------------------------------


def test_accountant_without_manage_dids(client, accountant_without_right, system_api, stock):
    assert ask(client, u="bert", hash=SECRET_HASH) == "You are not authorized to manage DIDs"


def test_accountant_without_group(client, system_api, stock):
    UserFactory(username="loner", role=User.Role.ACCOUNTANT, accountant_group=None)
    assert ask(client, u="loner", hash=SECRET_HASH) == "You are not authorized to manage DIDs"


def test_accountant_with_manage_dids_none(client, system_api, stock):
    group = AccountantGroupFactory(rights={"manage_dids": "none"})
    UserFactory(username="nina", role=User.Role.ACCOUNTANT, accountant_group=group)
    assert ask(client, u="nina", hash=SECRET_HASH) == "You are not authorized to manage DIDs"


def test_accountant_with_manage_dids_read(client, accountant, system_api, stock):
    assert ids_of(call(client, {"u": "bob", "hash": SECRET_HASH})) == [d.id for d in stock.values()]


def test_accountant_with_manage_dids_write(client, did_writers, system_api, stock):
    UserFactory(username="wanda", role=User.Role.ACCOUNTANT, accountant_group=did_writers)
    assert ids_of(call(client, {"u": "wanda", "hash": SECRET_HASH})) == [
        d.id for d in stock.values()
    ]


# --- 8. Invalid <name> and 9. No DIDs found ----------------------------------------------


def test_malformed_parameter(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=SECRET_HASH, search_user="abc") == (
        "Invalid search_user: expected a whole number"
    )


def test_nothing_matches(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=SECRET_HASH, search_did_number="999") == "No DIDs found"


def test_no_dids_at_all(client, portal_admin, system_api):
    assert ask(client, u="alice", hash=SECRET_HASH) == "No DIDs found"


def test_from_past_the_end(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash=SECRET_HASH, **{"from": "5"}) == "No DIDs found"
    assert ask(client, u="alice", hash=SECRET_HASH, **{"from": "4"}) is None


def test_reseller_without_dids(client, other_reseller, system_api, stock):
    ApiSettingsFactory(reseller=other_reseller, api_secret_key="x")
    assert ask(client, u="dave", hash=sha1("x")) == "No DIDs found"


# --- The first failure wins -------------------------------------------------------------


def test_access_denied_comes_before_get_refusal(client, system_api, stock):
    response = call(client, {"u": "mallory", "hash": "bad"}, method="get")
    assert error_of(response) == "Access Denied"


def test_access_denied_comes_before_api_disabled(client, stock):
    assert ask(client, u="mallory") == "Access Denied"


def test_api_disabled_comes_before_get_refusal(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=False)
    response = call(client, {"u": "alice", "hash": "bad"}, method="get")
    assert error_of(response) == "API Requests are disabled"


def test_get_refusal_comes_before_a_wrong_hash(client, portal_admin, system_api, stock):
    response = call(client, {"u": "alice", "hash": "bad"}, method="get")
    assert error_of(response) == "GET Requests are disabled"


def test_get_refusal_comes_before_a_missing_secret(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="")
    response = call(client, {"u": "alice"}, method="get")
    assert error_of(response) == "GET Requests are disabled"


def test_missing_secret_comes_before_a_wrong_hash(client, portal_admin, stock):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="")
    assert ask(client, u="alice", hash="bad") == "API must have Secret Key"


def test_wrong_hash_comes_before_method_not_permitted(client, end_user, system_api, stock):
    end_user.api_restricted = True
    end_user.save()
    assert ask(client, u="frank", hash="bad") == "Incorrect hash"


def test_method_not_permitted_comes_before_manage_dids(
    client, accountant_without_right, system_api, stock
):
    accountant_without_right.api_restricted = True
    accountant_without_right.save()
    assert ask(client, u="bert", hash=SECRET_HASH) == "API method not permitted: dids_get"


def test_manage_dids_comes_before_a_malformed_parameter(
    client, accountant_without_right, system_api, stock
):
    assert ask(client, u="bert", hash=SECRET_HASH, search_status="bogus") == (
        "You are not authorized to manage DIDs"
    )


def test_wrong_hash_comes_before_a_malformed_parameter(client, portal_admin, system_api, stock):
    assert ask(client, u="alice", hash="bad", search_status="bogus") == "Incorrect hash"


def test_malformed_parameter_comes_before_no_dids(client, portal_admin, system_api):
    assert ask(client, u="alice", hash=SECRET_HASH, search_status="bogus") == (
        "Invalid search_status: expected one of free, reserved, active, closed, terminated"
    )


def test_a_refused_request_changes_nothing(client, portal_admin, system_api, end_user):
    """A malformed parameter is reported before closed DIDs past their date are released."""
    from datetime import timedelta

    from django.utils import timezone

    did = DidFactory(
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now() - timedelta(days=1),
    )
    assert ask(client, u="alice", hash=SECRET_HASH, search_user="x") == (
        "Invalid search_user: expected a whole number"
    )
    did.refresh_from_db()
    assert did.status == Did.Status.CLOSED
    assert did.history.count() == 0
