"""manage.py import_dids: the same import as the page, for files of any size."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from dids.models import Did, DidHistory
from portal.testing.factories import DidFactory

CONTENT = "did,language,status\n37060000001,en,\n37060000002,lt,Reserved\n37060000003,fi,\n"


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "dids.csv"
    path.write_text(CONTENT)
    return path


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_dids", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_dry_run_says_what_would_happen_and_writes_nothing(portal_admin, csv_file):
    DidFactory(number="37060000003", language="fi")
    output = command(str(csv_file), "--dry-run")
    assert output.splitlines() == [
        "line 3, DID 37060000002: A new DID is free: it cannot be created reserved.",
        "Dry run: 1 to create, 0 to update, 1 unchanged, 1 rejected. Nothing was written.",
    ]
    assert Did.objects.count() == 1
    assert not DidHistory.objects.exists()


def test_the_import_acts_as_the_system_administrator_by_default(portal_admin, csv_file):
    output = command(str(csv_file))
    assert output.splitlines()[-1] == ("Imported: 2 created, 0 updated, 0 unchanged, 1 rejected.")
    assert set(DidHistory.objects.values_list("by__username", "source")) == {("alice", "import")}
    assert command(str(csv_file)).splitlines()[-1] == (
        "Imported: 0 created, 0 updated, 2 unchanged, 1 rejected."
    )


def test_the_import_acts_with_the_rights_of_the_account_given(reseller, csv_file):
    DidFactory(number="37060000001", reseller=reseller)
    output = command(str(csv_file), "--as", "charlie")
    assert "line 4, DID 37060000003: Resellers may create DIDs only while" in output
    assert Did.objects.get(number="37060000001").language == "en"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as", "nobody"], "No account is named 'nobody'."),
        (["--as", "bob"], "bob may not change DIDs."),
    ],
)
def test_an_account_that_may_not_import_is_refused(accountant, csv_file, args, expected):
    with pytest.raises(CommandError, match=expected):
        command(str(csv_file), *args)


def test_a_refused_file_writes_nothing(portal_admin, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"did,comment\n37060000001,ok\n37060000002,caf\xe9\n")
    with pytest.raises(CommandError) as refused:
        command(str(path))
    assert str(refused.value).endswith("Nothing was written.")
    assert not Did.objects.exists()


def test_a_missing_file_is_a_clear_error(portal_admin, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        command(str(tmp_path / "missing.csv"))


def test_a_file_larger_than_the_pages_limit_is_imported_in_chunks(portal_admin, tmp_path):
    from dids.imports import CHUNK_ROWS, GUI_MAX_ROWS

    rows = GUI_MAX_ROWS + CHUNK_ROWS + 7
    path = tmp_path / "big.csv"
    path.write_text("did,language\n" + "".join(f"3706{n:07d},en\n" for n in range(rows)))
    output = command(str(path))
    assert output.splitlines()[-1] == (
        f"Imported: {rows:,} created, 0 updated, 0 unchanged, 0 rejected."
    )
    assert Did.objects.count() == rows
    assert DidHistory.objects.count() == rows
    again = command(str(path), "--dry-run")
    assert f"{rows:,} unchanged" in again
