"""load_scenario: the example loads exactly, and every class of bad input is refused untouched."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AccountantGroup, ApiPermissionGroup, ApiSettings, SystemSettings, User
from dids.models import Device, DialPlan, Did, Provider
from portal.testing.factories import DidFactory, UserFactory

# The example the project ships (docs/examples/example.json, described in
# docs/scenarios.md). Where the specification's own copy sits beside the checkout
# (../shared), test_the_copy_of_the_example_is_current catches drift from it.
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "example.json"
SHARED_EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "example.json"
MODELS = (User, AccountantGroup, ApiPermissionGroup, ApiSettings, Provider, Device, DialPlan, Did)

pytestmark = pytest.mark.django_db


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE.read_text())


def snapshot() -> dict[str, list]:
    """Every row of every portal table, to prove that a refused load changed nothing."""
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
    state["SystemSettings"] = list(SystemSettings.objects.values())
    return state


def load(data: dict, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    from io import StringIO

    out = StringIO()
    call_command("load_scenario", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(not SHARED_EXAMPLE.exists(), reason="no ../shared beside the checkout")
def test_the_copy_of_the_example_is_current():
    assert json.loads(EXAMPLE.read_text()) == json.loads(SHARED_EXAMPLE.read_text())


def test_the_example_loads_with_its_ids(example, tmp_path):
    output = load(example, tmp_path)

    assert "15 dids" in output
    assert SystemSettings.load().days_for_did_close == 90
    ops = User.objects.get(pk=1)
    assert (ops.username, ops.role, ops.is_system_administrator) == ("ops", "admin", True)
    assert ops.check_password("ops-demo-pass")
    bluewave = User.objects.get(username="bluewave")
    assert not bluewave.has_usable_password()
    zenith = User.objects.get(pk=7)
    assert zenith.owner.username == "northwind"
    assert zenith.api_restricted
    assert zenith.api_permission_group.allows("dids_get")
    assert not User.objects.get(username="formerco").is_active
    assert User.objects.get(username="ledger").accountant_group.manage_dids == "read"
    assert User.objects.get(username="northwind").own_providers
    system = ApiSettings.objects.system()
    assert (system.allow_api, system.allow_get_api, system.api_secret_key) == (
        True,
        True,
        "s3cr3t-system",
    )
    assert ApiSettings.objects.for_reseller(bluewave).allow_api is False
    assert Provider.objects.get(pk=12).owner.username == "northwind"
    assert Device.objects.get(pk=22).display == "FAX/302"
    assert DialPlan.objects.get(pk=31).display == "Hotel front desk (ringgroup)"

    active = Did.objects.get(pk=103)
    assert (active.number, active.status, active.user_id, active.device_id) == (
        "14155550103",
        "active",
        6,
        20,
    )
    assert active.ai_agent_compatible
    assert active.routes_to_openai_project_id == "proj_acme_frontdesk"
    closed = Did.objects.get(pk=105)
    assert closed.reserved_for_user_till == datetime(2031, 1, 15, 12, tzinfo=UTC)
    held = Did.objects.get(pk=201)
    assert (held.reseller.username, held.comment, held.reseller_comment) == (
        "northwind",
        "admin note",
        "for Zenith",
    )
    assert Did.objects.count() == 15


def test_loading_twice_without_replace_is_refused_and_changes_nothing(example, tmp_path):
    load(example, tmp_path)
    before = snapshot()

    with pytest.raises(
        CommandError,
        match=r"accountant_groups\[0\] \(Billing desk\): accountant "
        r"group 'Billing desk' already exists\. Nothing was written\.",
    ):
        load(example, tmp_path)

    assert snapshot() == before


def test_replace_deletes_everything_first(example, tmp_path):
    UserFactory(username="leftover")
    DidFactory(number="999")
    load(example, tmp_path, "--replace")

    assert not User.objects.filter(username="leftover").exists()
    assert not Did.objects.filter(number="999").exists()
    assert User.objects.count() == 9


def test_automatic_ids_follow_the_loaded_ones(example, tmp_path):
    load(example, tmp_path)
    assert Provider.objects.create(name="new").pk > 12
    assert UserFactory().pk > 9


def test_defaults_of_a_minimal_did(tmp_path):
    load({"dids": [{"id": 5, "did": "123", "status": "free"}]}, tmp_path)
    did = Did.objects.get(pk=5)
    assert (did.provider, did.user, did.device, did.reseller, did.dial_plan) == (None,) * 5
    assert (did.language, did.comment, did.call_limit, did.ai_agent_compatible) == (
        "",
        "",
        0,
        False,
    )
    assert did.updated_at is not None


def test_the_write_sides_settings_and_fields_load_as_given(tmp_path):
    load(
        {
            "system": {"resellers_can_add_their_own_dids": True},
            "api_permission_groups": [
                {
                    "name": "Provisioning",
                    "methods": {
                        "dids_get": "read",
                        "did_create": "write",
                        "did_device_assign": "write",
                        "did_delete": "disabled",
                    },
                }
            ],
            "dids": [
                {
                    "id": 5,
                    "did": "123",
                    "status": "free",
                    "grace_time": 30,
                    "callerid_name_prefix": "ACME: ",
                    "custom_sip_header": "X-Customer: acme",
                }
            ],
        },
        tmp_path,
    )
    assert SystemSettings.load().resellers_can_add_their_own_dids is True
    group = ApiPermissionGroup.objects.get(name="Provisioning")
    assert [name for name in group.methods if group.allows(name)] == [
        "dids_get",
        "did_create",
        "did_device_assign",
    ]
    # A method left out is disabled.
    assert not group.allows("did_close")
    did = Did.objects.get(pk=5)
    assert (did.grace_time, did.callerid_name_prefix, did.custom_sip_header) == (
        30,
        "ACME: ",
        "X-Customer: acme",
    )


def test_the_write_sides_defaults(tmp_path):
    load({"system": {}, "dids": [{"id": 5, "did": "123", "status": "free"}]}, tmp_path)
    assert SystemSettings.load().resellers_can_add_their_own_dids is False
    did = Did.objects.get(pk=5)
    assert (did.grace_time, did.callerid_name_prefix, did.custom_sip_header) == (0, "", "")


def test_a_did_is_never_created_after_its_last_change(tmp_path):
    load(
        {
            "dids": [
                {"id": 1, "did": "1", "status": "free", "updated_at": "2026-05-27T07:35:57Z"},
                {"id": 2, "did": "2", "status": "free"},
                {
                    "id": 3,
                    "did": "3",
                    "status": "free",
                    "created_at": "2020-01-01T00:00:00Z",
                    "updated_at": "2026-05-27T07:35:57Z",
                },
            ]
        },
        tmp_path,
    )
    historical, fresh, explicit = Did.objects.order_by("pk")
    assert historical.created_at == historical.updated_at
    assert fresh.created_at <= fresh.updated_at
    assert explicit.created_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_a_timestamp_without_offset_is_utc(tmp_path):
    load(
        {"dids": [{"id": 5, "did": "1", "status": "free", "updated_at": "2026-05-27T07:35:57"}]},
        tmp_path,
    )
    assert Did.objects.get(pk=5).updated_at == datetime(2026, 5, 27, 7, 35, 57, tzinfo=UTC)


def test_historical_states_are_stored_as_given(tmp_path):
    """An active DID without device and Allow API on with an empty secret are valid history."""
    load(
        {
            "api_settings": [{"owner": "system", "allow_api": True, "api_secret_key": ""}],
            "dids": [{"id": 1, "did": "1", "status": "active"}],
        },
        tmp_path,
    )
    assert ApiSettings.objects.system().allow_api
    assert Did.objects.get(pk=1).status == "active"


def _broken(example: dict, path: str, value) -> dict:
    """The example with one value changed; `path` like 'dids.3.dial_plan'."""
    data = copy.deepcopy(example)
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


BAD_INPUT = [
    # unknown references
    ("dids.3.dial_plan", 999, r"dids\[3\] \(id 103\): unknown dial_plan 999"),
    ("dids.0.provider", 77, r"dids\[0\] \(id 100\): unknown provider 77"),
    ("dids.2.user", "nobody", r"dids\[2\] \(id 102\): unknown user 'nobody'"),
    ("dids.3.device", 5, r"dids\[3\] \(id 103\): unknown device 5"),
    ("dids.7.reseller", "acme", r"dids\[7\] \(id 200\): reseller 'acme' is not a reseller"),
    ("devices.0.user", "ghost", r"devices\[0\] \(id 20\): unknown user 'ghost'"),
    ("users.6.owner", "ghost", r"users\[6\] \(id 7\): unknown owner 'ghost'"),
    ("users.6.owner", "acme", r"users\[6\] \(id 7\): owner 'acme' is not a reseller"),
    ("users.3.accountant_group", "Nope", r"users\[3\] \(id 4\): unknown accountant_group 'Nope'"),
    (
        "users.6.api_permission_group",
        "Nope",
        r"users\[6\] \(id 7\): unknown api_permission_group 'Nope'",
    ),
    ("api_settings.1.owner", "ghost", r"api_settings\[1\] \(ghost\): unknown owner 'ghost'"),
    ("providers.2.owner", "acme", r"providers\[2\] \(id 12\): owner 'acme' is not a reseller"),
    # duplicates
    ("dids.1.id", 100, r"dids\[1\] \(id 100\): duplicate id 100"),
    ("dids.1.did", "14155550100", r"dids\[1\] \(id 101\): duplicate did '14155550100'"),
    ("users.1.username", "ops", r"users\[1\] \(id 2\): duplicate username 'ops'"),
    ("users.1.id", 1, r"users\[1\] \(id 1\): duplicate id 1"),
    ("providers.1.id", 10, r"providers\[1\] \(id 10\): duplicate id 10"),
    ("accountant_groups.1.name", "Billing desk", r"duplicate accountant group name"),
    # invalid status, role, types
    (
        "dids.0.status",
        "sold",
        r"dids\[0\] \(id 100\): invalid status 'sold': expected one of "
        r"free, reserved, active, closed, terminated",
    ),
    ("dids.0.status", None, r"dids\[0\] \(id 100\): missing status"),
    ("users.5.role", "boss", r"users\[5\] \(id 6\): invalid role 'boss'"),
    (
        "users.1.api_restricted",
        True,
        r"users\[1\] \(id 2\): only users and accountants may be "
        r"api_restricted, not role 'reseller'",
    ),
    ("users.1.system_administrator", True, r"only an admin can be the system administrator"),
    ("accountant_groups.0.manage_dids", "all", r"invalid manage_dids 'all'"),
    ("api_permission_groups.0.methods", {"dids_get": "write"}, r"invalid dids_get right 'write'"),
    ("dial_plans.0.type", "disco", r"dial_plans\[0\] \(id 30\): invalid type 'disco'"),
    ("dids.0.call_limit", -1, r"call_limit -1 is out of range"),
    ("dids.0.call_limit", "5", r"call_limit must be a whole number"),
    ("dids.0.id", "100", r"id must be a whole number"),
    ("dids.0.did", "", r"did must not be empty"),
    ("dids.0.did", "1" * 51, r"did is longer than 50 characters"),
    ("dids.0.ai_agent_compatible", "yes", r"ai_agent_compatible must be true or false"),
    # text that no database can store (PostgreSQL refuses NUL; nothing encodes a lone surrogate)
    ("dids.0.comment", "a\x00b", r"dids\[0\] \(id 100\): comment must be text without a NUL"),
    ("users.1.first_name", "\ud800", r"users\[1\] \(id 2\): first_name must be text without"),
    ("dids.0.did", "1\x00", r"did must be text without a NUL character or a lone surrogate"),
    ("system.days_for_did_close", 1001, r"system: days_for_did_close 1001 is out of range"),
    (
        "system.resellers_can_add_their_own_dids",
        "yes",
        r"system: resellers_can_add_their_own_dids must be true or false",
    ),
    # write levels: only the canonical names, each with its own two levels
    (
        "api_permission_groups.0.methods",
        {"did_create": "read"},
        r"api_permission_groups\[0\] \(Read DIDs\): invalid did_create right 'read': "
        r"expected one of disabled, write",
    ),
    (
        "api_permission_groups.0.methods",
        {"did_assign_device": "write"},
        r"api_permission_groups\[0\] \(Read DIDs\): unknown API method 'did_assign_device'",
    ),
    (
        "api_permission_groups.0.methods",
        {"did_trunk_device_assign": "write"},
        r"unknown API method 'did_trunk_device_assign'",
    ),
    # the write side's DID fields
    ("dids.0.grace_time", -1, r"dids\[0\] \(id 100\): grace_time -1 is out of range"),
    ("dids.0.grace_time", "30", r"dids\[0\] \(id 100\): grace_time must be a whole number"),
    ("dids.0.grace_time", 2**31, r"grace_time 2147483648 is out of range"),
    ("dids.0.callerid_name_prefix", 5, r"dids\[0\] \(id 100\): callerid_name_prefix must be text"),
    ("dids.0.callerid_name_prefix", "x" * 51, r"callerid_name_prefix is longer than 50"),
    ("dids.0.custom_sip_header", 5, r"dids\[0\] \(id 100\): custom_sip_header must be text"),
    ("dids.0.custom_sip_header", "x" * 256, r"custom_sip_header is longer than 255 characters"),
    # bad timestamps
    (
        "dids.5.reserved_for_user_till",
        "2031-13-15T12:00:00Z",
        r"dids\[5\] \(id 105\): bad "
        r"reserved_for_user_till '2031-13-15T12:00:00Z': expected an RFC 3339 timestamp",
    ),
    ("dids.0.updated_at", "yesterday", r"bad updated_at 'yesterday'"),
    ("dids.0.updated_at", "2026-05-27", r"bad updated_at '2026-05-27'"),
    ("dids.0.updated_at", 1700000000, r"bad updated_at 1700000000"),
    # shape
    ("dids.0.colour", "red", r"dids\[0\] \(id 100\): unknown field 'colour'"),
    ("dids.0", "14155550100", r"dids\[0\]: expected an object"),
    ("dids", {"id": 1}, r"dids: expected a list"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_its_message_and_writes_nothing(
    example, tmp_path, path, value, message
):
    before = snapshot()
    with pytest.raises(CommandError, match=message):
        load(_broken(example, path, value), tmp_path)
    assert snapshot() == before


def test_bad_input_with_replace_keeps_the_old_data(example, tmp_path):
    load(example, tmp_path)
    before = snapshot()
    with pytest.raises(CommandError, match="unknown dial_plan 999"):
        load(_broken(example, "dids.3.dial_plan", 999), tmp_path, "--replace")
    assert snapshot() == before


def test_conflicting_did_number_in_the_database_is_refused(tmp_path):
    taken = DidFactory(number="14155550100")
    before = snapshot()
    with pytest.raises(
        CommandError, match=r"dids\[0\] \(id 9000\): did '14155550100' already exists"
    ):
        load({"dids": [{"id": 9000, "did": "14155550100", "status": "free"}]}, tmp_path)
    assert snapshot() == before
    with pytest.raises(CommandError, match=rf"dids\[0\] \(id {taken.pk}\): id {taken.pk} already"):
        load({"dids": [{"id": taken.pk, "did": "555", "status": "free"}]}, tmp_path)
    assert snapshot() == before


def test_a_second_system_administrator_is_refused(portal_admin, tmp_path):
    with pytest.raises(CommandError, match="there can be only one system administrator"):
        load(
            {"users": [{"username": "x", "role": "admin", "system_administrator": True}]}, tmp_path
        )


def test_only_users_can_be_owned_by_a_reseller(tmp_path):
    data = {
        "users": [
            {"id": 1, "username": "r", "role": "reseller"},
            {"id": 2, "username": "a", "role": "accountant", "owner": "r"},
        ]
    }
    with pytest.raises(CommandError, match=r"users\[1\] \(id 2\): only users can be owned"):
        load(data, tmp_path)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"not valid JSON \(line 1, column 2"),
        ("[]", "the scenario must be a JSON object"),
        ('{"didz": []}', "unknown top-level key 'didz'"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("load_scenario", str(path))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_scenario", str(tmp_path / "absent.json"))
