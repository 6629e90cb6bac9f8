"""CSV export of the DIDs list: everything that matches, the role's columns only,
the list's visibility and filters, and no spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from accounts.models import User
from dids.api.testing import SECRET_HASH, call, rows_of
from dids.exports import BLOCK_SIZE, csv_safe
from dids.models import Did
from portal.testing.factories import ApiSettingsFactory, DidFactory, ProviderFactory, UserFactory


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="dids-')
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def stock(reseller, other_reseller, end_user, reseller_user):
    carrier = ProviderFactory(name="Carrier A")
    return [
        DidFactory(number="37060000005", provider=carrier, comment="main", language="en"),
        DidFactory(number="37060000001", reseller=reseller, reseller_comment="mine"),
        DidFactory(number="37060000004", status=Did.Status.TERMINATED),
        DidFactory(
            number="37060000002",
            reseller=reseller,
            user=reseller_user,
            status=Did.Status.RESERVED,
        ),
        DidFactory(number="37060000003", reseller=other_reseller),
        DidFactory(number="37060000006", user=end_user, status=Did.Status.RESERVED),
    ]


def test_admin_exports_every_matching_did_not_just_the_page(client, portal_admin, stock):
    portal_admin.items_per_page = 2
    portal_admin.save()
    client.force_login(portal_admin)

    rows = read_csv(client.get("/dids/export.csv"))

    assert rows[0] == [
        "did", "provider", "language", "status", "ai_agent_compatible",
        "routes_to_openai_project_id", "updated_at", "reseller", "owner", "device",
        "dial_plan", "simultaneous_call_limit", "comment", "tone_zone", "id", "device_id",
        "user_id", "reserved_for_user_till",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == [f"3706000000{n}" for n in range(1, 7)]


def test_export_matches_dids_get_value_for_value(client, system_api, portal_admin, stock):
    client.force_login(portal_admin)

    header, *rows = read_csv(client.get("/dids/export.csv"))
    api = rows_of(call(client, {"u": "alice", "hash": SECRET_HASH}))

    assert [dict(zip(header, row, strict=True)) for row in rows] == [
        {name: dict(elements).get(name, "") for name in header} for elements in api
    ]


def test_reseller_exports_only_its_dids_and_its_columns(client, reseller, stock):
    ApiSettingsFactory(reseller=reseller)
    client.force_login(reseller)

    header, *rows = read_csv(client.get("/dids/export.csv"))

    assert "provider" not in header
    assert "reseller" not in header
    assert [row[header.index("did")] for row in rows] == ["37060000001", "37060000002"]
    # The reseller's side of the comment, never the operator's.
    assert [row[header.index("comment")] for row in rows] == ["mine", ""]


def test_end_user_exports_only_its_dids_and_its_columns(client, end_user, stock):
    client.force_login(end_user)

    header, *rows = read_csv(client.get("/dids/export.csv"))

    assert {"provider", "reseller", "dial_plan", "tone_zone"}.isdisjoint(header)
    assert [row[header.index("did")] for row in rows] == ["37060000006"]


def test_export_applies_the_filters_window_and_sort(client, portal_admin, stock):
    client.force_login(portal_admin)

    _header, *rows = read_csv(
        client.get(
            "/dids/export.csv",
            {"search_did_number": "3706", "from": "2", "max_results": "3", "sort": "-did"},
        )
    )

    assert [row[0] for row in rows] == ["37060000004", "37060000003", "37060000002"]


def test_export_follows_the_hide_terminated_preference(client, portal_admin, stock):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    hidden = read_csv(client.get("/dids/export.csv"))
    shown = read_csv(client.get("/dids/export.csv", {"search_hide_terminated_dids": "0"}))

    assert "37060000004" not in [row[0] for row in hidden]
    assert "37060000004" in [row[0] for row in shown]


def test_malformed_filter_is_a_clear_400(client, portal_admin, stock):
    client.force_login(portal_admin)

    response = client.get("/dids/export.csv", {"search_device": "x", "from": "0"})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "Invalid search_device: expected a whole number or all\n"
        "Invalid from: expected a whole number of at least 1"
    )


@pytest.mark.parametrize(
    ("stored", "exported"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain = fine", "plain = fine"),
    ],
)
def test_export_neutralises_formulas(client, portal_admin, stored, exported):
    DidFactory(number="1", comment=stored)
    client.force_login(portal_admin)

    header, row = read_csv(client.get("/dids/export.csv"))

    assert row[header.index("comment")] == exported


def test_export_neutralises_formulas_in_names(client, portal_admin):
    mallory = UserFactory(username="m", first_name="=2+5", last_name="", role=User.Role.USER)
    DidFactory(number="1", user=mallory)
    client.force_login(portal_admin)

    header, row = read_csv(client.get("/dids/export.csv"))

    assert row[header.index("owner")] == "'=2+5"


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("x;=1+1", '"x;=1+1"'),
        ("a,b", '"a,b"'),
        ("tab\t=1+1", '"tab\t=1+1"'),
        ('say "hi"', '"say ""hi"""'),
        ("plain = fine", "plain = fine"),
    ],
)
def test_export_quotes_every_cell_with_a_separator(client, portal_admin, stored, written):
    """A spreadsheet that splits on `;` (or tabs) must not see a cell that starts after one."""
    DidFactory(number="1", comment=stored)
    client.force_login(portal_admin)

    response = client.get("/dids/export.csv")
    text = b"".join(response.streaming_content).decode()

    header, line = text.split("\r\n")[:2]
    cells = line.split(",", header.split(",").index("comment"))
    assert cells[-1].startswith(written + ",")
    # Read back as CSV, the value is intact; lines end with CRLF only.
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][rows[0].index("comment")] == stored
    assert text.endswith("\r\n")
    assert "\r\n;\t" not in text


def test_csv_safe_leaves_numbers_alone():
    assert csv_safe("37060000001") == "37060000001"
    assert csv_safe("") == ""


def test_accountant_without_manage_dids_cannot_export(client, accountant_without_right, stock):
    client.force_login(accountant_without_right)

    response = client.get("/dids/export.csv")

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs." in response.content.decode()


def test_empty_export_has_the_header_only(client, end_user):
    client.force_login(end_user)

    rows = read_csv(client.get("/dids/export.csv"))

    assert len(rows) == 1
    assert rows[0][0] == "did"


def test_export_is_streamed_in_blocks_not_built_whole(client, portal_admin):
    Did.objects.bulk_create(Did(number=f"4420{n:07d}", comment="x" * 100) for n in range(1500))
    client.force_login(portal_admin)

    response = client.get("/dids/export.csv")
    chunks = list(response.streaming_content)

    assert len(chunks) >= 3
    assert all(len(chunk) < BLOCK_SIZE + 1024 for chunk in chunks)
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 1501
    assert lines[-1].startswith("44200001499,")
