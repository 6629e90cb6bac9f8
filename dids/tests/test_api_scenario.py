"""The example scenario (docs/examples/example.json) through dids_get.

The scenario is mirrored here as data and built with the factories, so that this
test does not depend on the loader command; its shape is the scenario format's.
"""

from datetime import datetime

import pytest

from accounts.models import User
from dids.api.testing import DIDS_GET_URL, call, error_of, rows_of, sha1
from dids.models import Did
from portal.testing.factories import (
    AccountantGroupFactory,
    ApiPermissionGroupFactory,
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

# fmt: off
SCENARIO = \
{'system': {'days_for_did_close': 90},
 'api_settings': [{'owner': 'system',
                   'allow_api': True,
                   'allow_get_api': True,
                   'api_secret_key': 's3cr3t-system',
                   'disable_hash_checking': False},
                  {'owner': 'northwind',
                   'allow_api': True,
                   'api_secret_key': 's3cr3t-northwind',
                   'disable_hash_checking': False},
                  {'owner': 'bluewave',
                   'allow_api': False,
                   'api_secret_key': '',
                   'disable_hash_checking': False}],
 'accountant_groups': [{'name': 'Billing desk', 'manage_dids': 'read'},
                       {'name': 'Payroll', 'manage_dids': 'none'}],
 'api_permission_groups': [{'name': 'Read DIDs', 'methods': {'dids_get': 'read'}},
                           {'name': 'Nothing', 'methods': {'dids_get': 'disabled'}}],
 'users': [{'id': 1,
            'username': 'ops',
            'role': 'admin',
            'first_name': 'Platform',
            'last_name': 'Operator',
            'password': 'ops-demo-pass',
            'system_administrator': True},
           {'id': 2,
            'username': 'northwind',
            'role': 'reseller',
            'first_name': 'Northwind',
            'last_name': 'Telecom',
            'own_providers': True,
            'password': 'northwind-demo-pass'},
           {'id': 3,
            'username': 'bluewave',
            'role': 'reseller',
            'first_name': 'Bluewave',
            'last_name': 'Voice'},
           {'id': 4,
            'username': 'ledger',
            'role': 'accountant',
            'first_name': 'Lena',
            'last_name': 'Ledger',
            'accountant_group': 'Billing desk',
            'password': 'ledger-demo-pass'},
           {'id': 5,
            'username': 'clerk',
            'role': 'accountant',
            'first_name': 'Carl',
            'last_name': 'Clerk',
            'accountant_group': 'Payroll'},
           {'id': 6,
            'username': 'acme',
            'role': 'user',
            'first_name': 'Acme',
            'last_name': 'Corp',
            'password': 'acme-demo-pass'},
           {'id': 7,
            'username': 'zenith',
            'role': 'user',
            'owner': 'northwind',
            'first_name': 'Zenith',
            'last_name': 'Hotels',
            'api_restricted': True,
            'api_permission_group': 'Read DIDs'},
           {'id': 8,
            'username': 'orbit',
            'role': 'user',
            'owner': 'northwind',
            'first_name': '',
            'last_name': '',
            'api_restricted': True,
            'api_permission_group': 'Nothing'},
           {'id': 9,
            'username': 'formerco',
            'role': 'user',
            'first_name': 'Former',
            'last_name': 'Co',
            'is_active': False}],
 'providers': [{'id': 10, 'name': 'Carrier One', 'owner': 'system'},
               {'id': 11, 'name': 'Carrier Two', 'owner': 'system'},
               {'id': 12, 'name': 'Northwind Wholesale', 'owner': 'northwind'}],
 'devices': [{'id': 20, 'type': 'SIP', 'name': 'acme-pbx', 'extension': '201', 'user': 'acme'},
             {'id': 21, 'type': 'IAX2', 'name': 'zen-1', 'extension': '301', 'user': 'zenith'},
             {'id': 22, 'type': 'FAX', 'name': '', 'extension': '302', 'user': 'zenith'}],
 'dial_plans': [{'id': 30, 'name': 'Support IVR', 'type': 'ivr', 'owner': 'system'},
                {'id': 31,
                 'name': 'Hotel front desk',
                 'type': 'ringgroup',
                 'owner': 'northwind'}],
 'dids': [{'id': 100, 'did': '14155550100', 'status': 'free', 'provider': 10, 'language': 'en'},
          {'id': 101,
           'did': '14155550101',
           'status': 'free',
           'provider': 10,
           'language': 'en',
           'comment': 'spare <test> & co'},
          {'id': 102,
           'did': '14155550102',
           'status': 'reserved',
           'provider': 10,
           'user': 'acme',
           'language': 'en',
           'call_limit': 5},
          {'id': 103,
           'did': '14155550103',
           'status': 'active',
           'provider': 10,
           'user': 'acme',
           'device': 20,
           'language': 'en',
           'tone_zone': 'us',
           'comment': 'main line',
           'ai_agent_compatible': True,
           'routes_to_openai_project_id': 'proj_acme_frontdesk'},
          {'id': 104,
           'did': '14155550104',
           'status': 'active',
           'provider': 11,
           'dial_plan': 30,
           'language': 'en',
           'tone_zone': 'us'},
          {'id': 105,
           'did': '14155550105',
           'status': 'closed',
           'provider': 11,
           'user': 'acme',
           'language': 'en',
           'reserved_for_user_till': '2031-01-15T12:00:00Z'},
          {'id': 106,
           'did': '14155550106',
           'status': 'terminated',
           'provider': 11,
           'language': ''},
          {'id': 200,
           'did': '442071230200',
           'status': 'free',
           'provider': 12,
           'reseller': 'northwind',
           'language': 'en-GB',
           'reseller_comment': 'stock'},
          {'id': 201,
           'did': '442071230201',
           'status': 'reserved',
           'provider': 12,
           'reseller': 'northwind',
           'user': 'zenith',
           'language': 'en-GB',
           'comment': 'admin note',
           'reseller_comment': 'for Zenith'},
          {'id': 202,
           'did': '442071230202',
           'status': 'active',
           'provider': 12,
           'reseller': 'northwind',
           'user': 'zenith',
           'device': 21,
           'language': 'en-GB',
           'tone_zone': 'uk',
           'call_limit': 10},
          {'id': 203,
           'did': '442071230203',
           'status': 'active',
           'provider': 12,
           'reseller': 'northwind',
           'user': 'zenith',
           'device': 22,
           'language': 'en-GB',
           'tone_zone': 'uk'},
          {'id': 204,
           'did': '442071230204',
           'status': 'active',
           'provider': 10,
           'reseller': 'northwind',
           'dial_plan': 31,
           'language': 'en-GB'},
          {'id': 205,
           'did': '442071230205',
           'status': 'closed',
           'provider': 10,
           'reseller': 'northwind',
           'user': 'orbit',
           'language': 'fr',
           'reserved_for_user_till': '2031-03-01T00:00:00Z'},
          {'id': 300,
           'did': '33170000300',
           'status': 'free',
           'provider': 11,
           'reseller': 'bluewave',
           'language': 'fr'},
          {'id': 301,
           'did': '33170000301',
           'status': 'terminated',
           'provider': 11,
           'reseller': 'bluewave',
           'language': 'fr'}]}
# fmt: on

SYSTEM_HASH = sha1("s3cr3t-system")
NORTHWIND_HASH = sha1("s3cr3t-northwind")


def build(scenario: dict) -> None:
    """Create everything the scenario describes, keeping its ids."""
    accountant_groups = {
        group["name"]: AccountantGroupFactory(
            name=group["name"], rights={"manage_dids": group["manage_dids"]}
        )
        for group in scenario["accountant_groups"]
    }
    api_groups = {
        group["name"]: ApiPermissionGroupFactory(name=group["name"], methods=group["methods"])
        for group in scenario["api_permission_groups"]
    }
    users: dict[str, User] = {}
    for entry in scenario["users"]:
        owner = entry.get("owner", "system")
        users[entry["username"]] = UserFactory(
            id=entry["id"],
            username=entry["username"],
            role=entry.get("role", "user"),
            first_name=entry.get("first_name", ""),
            last_name=entry.get("last_name", ""),
            owner=None if owner == "system" else users[owner],
            is_system_administrator=entry.get("system_administrator", False),
            own_providers=entry.get("own_providers", False),
            api_restricted=entry.get("api_restricted", False),
            accountant_group=accountant_groups.get(entry.get("accountant_group")),
            api_permission_group=api_groups.get(entry.get("api_permission_group")),
            is_active=entry.get("is_active", True),
        )
    for entry in scenario["api_settings"]:
        owner = entry["owner"]
        ApiSettingsFactory(
            reseller=None if owner == "system" else users[owner],
            allow_api=entry.get("allow_api", False),
            allow_get_api=entry.get("allow_get_api", False),
            api_secret_key=entry.get("api_secret_key", ""),
            disable_hash_checking=entry.get("disable_hash_checking", False),
        )
    providers = {
        entry["id"]: ProviderFactory(
            id=entry["id"],
            name=entry["name"],
            owner=None if entry["owner"] == "system" else users[entry["owner"]],
        )
        for entry in scenario["providers"]
    }
    devices = {
        entry["id"]: DeviceFactory(
            id=entry["id"],
            type=entry["type"],
            name=entry["name"],
            extension=entry["extension"],
            user=users[entry["user"]],
        )
        for entry in scenario["devices"]
    }
    dial_plans = {
        entry["id"]: DialPlanFactory(
            id=entry["id"],
            name=entry["name"],
            type=entry["type"],
            owner=None if entry["owner"] == "system" else users[entry["owner"]],
        )
        for entry in scenario["dial_plans"]
    }
    for entry in scenario["dids"]:
        till = entry.get("reserved_for_user_till")
        DidFactory(
            id=entry["id"],
            number=entry["did"],
            status=entry["status"],
            provider=providers.get(entry.get("provider")),
            user=users.get(entry.get("user")),
            device=devices.get(entry.get("device")),
            reseller=users.get(entry.get("reseller")),
            dial_plan=dial_plans.get(entry.get("dial_plan")),
            language=entry.get("language", ""),
            comment=entry.get("comment", ""),
            reseller_comment=entry.get("reseller_comment", ""),
            call_limit=entry.get("call_limit", 0),
            tone_zone=entry.get("tone_zone", ""),
            reserved_for_user_till=datetime.fromisoformat(till) if till else None,
            ai_agent_compatible=entry.get("ai_agent_compatible", False),
            routes_to_openai_project_id=entry.get("routes_to_openai_project_id", ""),
        )


@pytest.fixture
def example(db):
    build(SCENARIO)


def dids_get(client, u, hash_, **params):
    return call(client, {"u": u, "hash": hash_, **params})


def ids(response) -> list[int]:
    return [int(dict(row)["id"]) for row in rows_of(response)]


def by_id(response) -> dict[int, dict[str, str]]:
    return {int(dict(row)["id"]): dict(row) for row in rows_of(response)}


# By number: 1415… < 3317… < 4420….
ALL_IDS = [100, 101, 102, 103, 104, 105, 106, 300, 301, 200, 201, 202, 203, 204, 205]


def test_admin_sees_every_did_in_number_order(client, example):
    assert ids(dids_get(client, "ops", SYSTEM_HASH)) == ALL_IDS


def test_get_is_allowed_in_this_scenario(client, example):
    response = client.get(DIDS_GET_URL, {"u": "ops", "hash": SYSTEM_HASH})
    assert ids(response) == ALL_IDS


def test_accountant_with_billing_desk_reads_every_did(client, example):
    assert ids(dids_get(client, "ledger", SYSTEM_HASH)) == ALL_IDS


def test_accountant_in_payroll_is_refused(client, example):
    assert error_of(dids_get(client, "clerk", SYSTEM_HASH)) == (
        "You are not authorized to manage DIDs"
    )


def test_reseller_pro_with_its_own_secret(client, example):
    assert error_of(dids_get(client, "northwind", SYSTEM_HASH)) == "Incorrect hash"
    assert ids(dids_get(client, "northwind", NORTHWIND_HASH)) == [200, 201, 202, 203, 204, 205]
    assert ids(dids_get(client, "northwind", NORTHWIND_HASH, search_provider="12")) == [
        200, 201, 202, 203,
    ]  # fmt: skip


def test_reseller_with_api_off(client, example):
    assert error_of(dids_get(client, "bluewave", sha1(""))) == "API Requests are disabled"


def test_restricted_user_allowed_by_its_group(client, example):
    rows = by_id(dids_get(client, "zenith", NORTHWIND_HASH))
    assert list(rows) == [201, 202, 203]
    assert rows[201]["comment"] == "for Zenith"
    assert rows[203]["device"] == "FAX/302"
    assert "dial_plan" not in rows[202]
    assert "provider" not in rows[202]


def test_restricted_user_refused_by_its_group(client, example):
    assert error_of(dids_get(client, "orbit", NORTHWIND_HASH)) == (
        "API method not permitted: dids_get"
    )


def test_inactive_user_is_access_denied(client, example):
    assert error_of(dids_get(client, "formerco", SYSTEM_HASH)) == "Access Denied"


def test_system_user(client, example):
    rows = by_id(dids_get(client, "acme", SYSTEM_HASH))
    assert list(rows) == [102, 103, 105]
    assert rows[103]["comment"] == "main line"
    assert rows[103]["ai_agent_compatible"] == "true"
    assert rows[103]["routes_to_openai_project_id"] == "proj_acme_frontdesk"
    assert rows[105]["reserved_for_user_till"] == "2031-01-15T12:00:00Z"


def test_admin_view_of_the_scenario(client, example):
    rows = by_id(dids_get(client, "ops", SYSTEM_HASH))
    assert rows[101]["comment"] == "spare <test> & co"
    assert rows[101]["owner"] == "Platform Operator"
    assert rows[201]["comment"] == "admin note"
    assert rows[201]["reseller"] == "Northwind Telecom"
    assert rows[201]["owner"] == "Zenith Hotels"
    assert "owner" not in rows[200]
    assert rows[205]["owner"] == "orbit"  # no names: the username
    assert rows[204]["dial_plan"] == "Hotel front desk (ringgroup)"
    assert rows[104]["dial_plan"] == "Support IVR (ivr)"
    assert rows[202]["simultaneous_call_limit"] == "10"
    assert rows[300]["provider"] == "Carrier Two"


def test_owner_search_in_the_scenario(client, example):
    response = dids_get(client, "ops", SYSTEM_HASH, search_did_owner="zenith")
    assert ids(response) == [201, 202, 203]
    response = dids_get(client, "ops", SYSTEM_HASH, search_did_owner="platform")
    assert ids(response) == [100, 101, 104, 106]  # 300, 301: held by bluewave, no owner


def test_status_counts_in_the_scenario(client, example):
    counts = {
        status: len(rows_of(dids_get(client, "ops", SYSTEM_HASH, search_status=status)))
        for status in Did.Status.values
    }
    assert counts == {"free": 4, "reserved": 2, "active": 5, "closed": 2, "terminated": 2}
