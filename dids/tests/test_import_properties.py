"""Property-based: whatever bytes a file holds, the import never fails with a server error
and never writes part of a file: it refuses the whole file (nothing written), or it
writes exactly the rows its plan says and nothing else."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dids import imports
from dids.imports import CREATE, UPDATE, ImportRefused
from dids.models import Did, DidHistory, DidImport
from dids.tests.test_import import tables
from portal.testing.factories import DidFactory, ProviderFactory

HEADERS = [
    b"did,language,comment,status,provider_id,simultaneous_call_limit,reseller\n",
    b"\xef\xbb\xbfdid;provider;tone_zone;ai_agent_compatible;id;updated_at\r\n",
    b"did\n",
]
CELLS = [
    "", "37060000001", "37060000002", "37060000003", " 37060000004", "3706000000x", "abc",
    "=1+1", "'=1", "+1", "-1", "@x", "'@", "Free", "closed", "Terminated", "active", "Reserved",
    "Unlimited", "0", "12", "99999999999999", "Telia", "charlie", "true", "no", "en", "lt",
    "us", "xx", '"', '""', "a,b", "a;b", "line\nbreak", "\t", "é", "中", "🎉", "\x7f",
    "2025-01-31T12:00:00Z", "yesterday",
]  # fmt: skip

cells = st.one_of(st.sampled_from(CELLS), st.text(max_size=8))
rows = st.lists(st.lists(cells, min_size=0, max_size=8), max_size=6)
PROFILE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def csv_text(header: bytes, table: list[list[str]], delimiter: str) -> bytes:
    lines = []
    for row in table:
        quoted = []
        for cell in row:
            if any(c in cell for c in f'"{delimiter}\n\r'):
                cell = '"' + cell.replace('"', '""') + '"'
            quoted.append(cell)
        lines.append(delimiter.join(quoted))
    return header + "\n".join(lines).encode("utf-8", "surrogatepass")


contents = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda h, b: h + b, st.sampled_from(HEADERS), st.binary(max_size=400)),
    st.builds(
        lambda h, t: csv_text(h, t, ";" if b";" in h else ","),
        st.sampled_from(HEADERS),
        rows,
    ),
)


@pytest.fixture
def inventory(portal_admin, reseller):
    ProviderFactory(owner=None, name="Telia", id=12)
    DidFactory(number="37060000001", language="en")
    DidFactory(number="37060000002", status="active")
    DidFactory(number="37060000003", reseller=reseller)


def check_applied(content: bytes, actor) -> None:
    """Refused: nothing written. Else: what is written is exactly what the plan says."""
    before_numbers = set(Did.objects.values_list("number", flat=True))
    before = tables()
    history = DidHistory.objects.count()
    try:
        report = imports.run_import(io.BytesIO(content), actor=actor, apply=True)
    except ImportRefused:
        assert tables() == before
        return
    written = [r for r in report.rows if r.outcome in (CREATE, UPDATE) and not r.error]
    created = {r.number for r in written if r.outcome == CREATE}
    assert set(Did.objects.values_list("number", flat=True)) == before_numbers | created
    assert DidHistory.objects.count() == history + len(written)
    if not written:
        assert tables() == before
    again = imports.run_import(io.BytesIO(content), actor=actor, apply=False)
    assert again.counts[CREATE] + again.counts[UPDATE] == 0  # a second import changes nothing


@PROFILE
@given(content=contents)
def test_any_file_is_planned_or_refused_and_the_dry_run_writes_nothing(
    portal_admin, inventory, content
):
    before = tables()
    report = plan_or_refusal(content, portal_admin)
    if isinstance(report, ImportRefused):
        assert report.message
    else:
        assert sum(report.counts.values()) == report.layout.rows == len(report.rows)
        assert all(r.reason for r in report.rows if r.outcome == imports.REJECT)
    assert tables() == before


def plan_or_refusal(content: bytes, actor) -> imports.ImportReport | ImportRefused:
    try:
        return imports.run_import(io.BytesIO(content), actor=actor, apply=False)
    except ImportRefused as refused:
        return refused


@PROFILE
@given(content=contents)
def test_any_file_is_imported_whole_as_planned_or_not_at_all(portal_admin, inventory, content):
    check_applied(content, portal_admin)


@PROFILE
@given(content=contents)
def test_a_resellers_import_of_any_file_writes_only_what_the_plan_says(
    reseller, inventory, content
):
    check_applied(content, reseller)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=contents)
def test_the_pages_never_answer_a_server_error(client, portal_admin, inventory, content):
    client.force_login(portal_admin)
    before = tables()
    response = client.post(
        reverse("dids:import"),
        {"file": SimpleUploadedFile("any.csv", content, content_type="text/csv")},
    )
    assert response.status_code in (200, 302)
    assert tables() == before  # the upload is a dry run
    if response.status_code == 200:
        assert response.context["form"].errors
        return
    stored = DidImport.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[-1])
    assert client.get(response.url).status_code == 200
    applied = client.post(response.url, {"digest": stored.plan_digest})
    assert applied.status_code == 302
    assert client.get(response.url).status_code == 200
