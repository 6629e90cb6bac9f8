"""Scenario fields of the write side (docs/scenarios.md): the system's *Resellers can add
their own DIDs*, and a DID's grace time, CallerID name prefix and custom SIP header."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import SystemSettings
from dids.models import Did

pytestmark = pytest.mark.django_db


def load(data: dict, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    call_command("load_scenario", str(path), stdout=StringIO())


def test_the_system_setting_for_resellers_own_dids_loads(tmp_path):
    load({"system": {"resellers_can_add_their_own_dids": True}}, tmp_path)

    settings = SystemSettings.load()
    assert settings.resellers_can_add_their_own_dids is True
    assert settings.days_for_did_close == 90


def test_the_system_setting_defaults_to_off(tmp_path):
    load({"system": {"days_for_did_close": 10}}, tmp_path)

    assert SystemSettings.load().resellers_can_add_their_own_dids is False


def test_a_non_boolean_setting_is_refused(tmp_path):
    with pytest.raises(
        CommandError, match="resellers_can_add_their_own_dids must be true or false"
    ):
        load({"system": {"resellers_can_add_their_own_dids": "yes"}}, tmp_path)

    assert SystemSettings.load().resellers_can_add_their_own_dids is False


def test_a_dids_write_side_fields_load(tmp_path):
    load(
        {
            "dids": [
                {
                    "id": 7,
                    "did": "37060000007",
                    "status": "free",
                    "grace_time": 30,
                    "callerid_name_prefix": "VIP",
                    "custom_sip_header": "X-Customer: 42",
                },
                {"id": 8, "did": "37060000008", "status": "free"},
            ]
        },
        tmp_path,
    )

    full, bare = Did.objects.order_by("pk")
    assert (full.grace_time, full.callerid_name_prefix, full.custom_sip_header) == (
        30,
        "VIP",
        "X-Customer: 42",
    )
    assert (bare.grace_time, bare.callerid_name_prefix, bare.custom_sip_header) == (0, "", "")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("custom_sip_header", "x" * 256, "custom_sip_header is longer than 255 characters"),
        ("custom_sip_header", 5, "custom_sip_header must be text"),
        ("grace_time", -1, "grace_time -1 is out of range"),
        ("callerid_name_prefix", "x" * 51, "callerid_name_prefix is longer than 50 characters"),
    ],
)
def test_a_bad_write_side_field_is_refused(tmp_path, field, value, message):
    with pytest.raises(CommandError, match=message):
        load({"dids": [{"id": 7, "did": "1", "status": "free", field: value}]}, tmp_path)

    assert not Did.objects.exists()
