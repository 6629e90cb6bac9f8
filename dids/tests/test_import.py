"""CSV import: the file is read whole, every row planned with the services' checks, the
dry run writes nothing, the import applies exactly the plan, a second import changes
nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import SystemSettings
from dids import imports
from dids.exports import csv_lines
from dids.imports import CREATE, REJECT, UNCHANGED, UPDATE, ImportRefused
from dids.models import Did, DidHistory
from portal.testing.factories import DeviceFactory, DidFactory, ProviderFactory, UserFactory


def run(content: str | bytes, actor, *, apply: bool = False, **kwargs) -> imports.ImportReport:
    data = content.encode() if isinstance(content, str) else content
    return imports.run_import(io.BytesIO(data), actor=actor, apply=apply, **kwargs)


def refusal(content: str | bytes, actor, **kwargs) -> str:
    with pytest.raises(ImportRefused) as refused:
        run(content, actor, **kwargs)
    return refused.value.message


def outcomes(report) -> list[tuple[int, str, str]]:
    return [(row.line, row.number, row.outcome) for row in report.rows]


def reasons(report) -> dict[str, str]:
    return {row.number: row.reason for row in report.rows if row.outcome == REJECT}


def tables() -> tuple[list[dict], list[dict]]:
    """Every DID and every history entry, as stored."""
    dids = [model_to_dict(d) for d in Did.objects.order_by("pk")]
    history = list(DidHistory.objects.order_by("pk").values())
    return dids, history


@pytest.fixture
def telia(db):
    return ProviderFactory(owner=None, name="Telia")


@pytest.fixture
def world(portal_admin, reseller, telia):
    """A DID of every kind the import meets."""
    user = UserFactory(username="frank")
    device = DeviceFactory(user=user, name="frank-pbx")
    return {
        "free": DidFactory(number="37060000001", provider=telia, language="en"),
        "active": DidFactory(number="37060000002", status="active", user=user, device=device),
        "held": DidFactory(number="37060000003", reseller=reseller),
        "terminated": DidFactory(number="37060000004", status="terminated"),
    }


MIXED = """did,provider,language,status,comment
37060000001,Telia,en,Free,
37060000002,,lt,Closed,closing
37060009999,Telia,de,,new
37060000004,,,Reserved,
abc,,,,
"""


def test_a_dry_run_plans_every_row_and_writes_nothing(portal_admin, world):
    before = tables()

    report = run(MIXED, portal_admin)

    assert tables() == before
    assert outcomes(report) == [
        (2, "37060000001", UNCHANGED),
        (3, "37060000002", UPDATE),
        (4, "37060009999", CREATE),
        (5, "37060000004", REJECT),
        (6, "abc", REJECT),
    ]
    assert dict(report.counts) == {UNCHANGED: 1, UPDATE: 1, CREATE: 1, REJECT: 2}
    assert report.rows[1].changes["status"] == ["active", "closed"]
    assert report.rows[1].changes["comment"] == ["", "closing"]
    assert reasons(report) == {
        "37060000004": "An import does not make a DID reserved: that needs a user; "
        "use the DID's page or the list's actions.",
        "abc": "'abc' is not a DID number: a digit, then digits or letters.",
    }
    assert not report.applied


def test_the_import_applies_exactly_the_dry_run(portal_admin, world, telia):
    planned = run(MIXED, portal_admin)

    report = run(MIXED, portal_admin, apply=True, expected_digest=planned.digest, address="::1")

    assert report.applied
    assert not report.stale
    assert report.digest == planned.digest
    assert [row.shown() for row in report.rows] == [row.shown() for row in planned.rows]
    for row in planned.rows:
        if row.outcome in (CREATE, UPDATE):
            entry = DidHistory.objects.filter(did__number=row.number).first()
            assert (entry.source, entry.by, entry.address) == ("import", portal_admin, "::1")
            shown = dict(row.changes)
            if "reserved_for_user_till" in shown:
                assert shown.pop("reserved_for_user_till") == [None, "90 days after the import"]
                entry.changes.pop("reserved_for_user_till")
            assert entry.changes == shown
    closed = Did.objects.get(number="37060000002")
    assert (closed.status, closed.language, closed.comment) == ("closed", "lt", "closing")
    assert closed.reserved_for_user_till is not None
    created = Did.objects.get(number="37060009999")
    assert (created.status, created.provider, created.language, created.comment) == (
        "free",
        telia,
        "de",
        "new",
    )
    assert DidHistory.objects.count() == 2


def test_a_second_import_of_the_same_file_changes_nothing(portal_admin, world):
    run(MIXED, portal_admin, apply=True)
    after_first = tables()

    again = run(MIXED, portal_admin)
    applied = run(MIXED, portal_admin, apply=True)

    assert tables() == after_first
    assert dict(again.counts) == {UNCHANGED: 3, REJECT: 2}
    assert dict(applied.counts) == {UNCHANGED: 3, REJECT: 2}


def test_data_changed_since_the_dry_run_gives_a_new_dry_run_and_writes_nothing(portal_admin, world):
    planned = run(MIXED, portal_admin)
    Did.objects.filter(number="37060000002").update(language="fr")
    DidFactory(number="37060009999")
    before = tables()

    report = run(MIXED, portal_admin, apply=True, expected_digest=planned.digest)

    assert report.stale
    assert not report.applied
    assert tables() == before
    assert report.digest != planned.digest
    assert report.rows[1].changes["language"] == ["fr", "lt"]
    assert report.rows[2].outcome == UPDATE  # 37060009999 exists now


def test_a_did_changed_between_plan_and_write_is_left_alone(portal_admin, world, monkeypatch):
    """The last line of defence: did_apply's precheck compares the locked row with the plan."""
    planner_plan = imports.Planner.plan

    def plan_then_someone_edits(self, records):
        rows = planner_plan(self, records)
        Did.objects.filter(number="37060000002").update(language="fr")
        return rows

    monkeypatch.setattr(imports.Planner, "plan", plan_then_someone_edits)
    report = run(MIXED, portal_admin, apply=True)
    [failed] = report.failed
    assert failed.number == "37060000002"
    assert failed.error == "DID 37060000002 was changed since the dry run: it was left as it is."
    did = Did.objects.get(number="37060000002")
    assert (did.status, did.language) == ("active", "fr")
    assert Did.objects.filter(number="37060009999").exists()


def test_an_export_imports_unchanged_and_an_edited_export_updates(portal_admin, world):
    exported = "".join(csv_lines(Did.objects.for_listing().order_by("number"), portal_admin))
    report = run(exported, portal_admin)
    assert dict(report.counts) == {UNCHANGED: 4}

    edited = exported.replace("37060000001,Telia,en,", "37060000001,Telia,sv,")
    report = run(edited, portal_admin, apply=True)

    assert dict(report.counts) == {UNCHANGED: 3, UPDATE: 1}
    assert Did.objects.get(number="37060000001").language == "sv"


def test_a_resellers_export_imports_unchanged(reseller, world):
    Did.objects.filter(pk=world["held"].pk).update(reseller_comment="=SUM(A1)")
    dids = Did.objects.visible_to(reseller).for_listing()
    exported = "".join(csv_lines(dids, reseller))
    assert "'=SUM(A1)" in exported
    report = run(exported, reseller)
    assert dict(report.counts) == {UNCHANGED: 1}
    edited = exported.replace("'=SUM(A1)", "new note")
    run(edited, reseller, apply=True)
    assert Did.objects.get(pk=world["held"].pk).reseller_comment == "new note"


# --- What a file must be --------------------------------------------------------


def test_a_bom_and_semicolons_are_understood(portal_admin):
    report = run(b"\xef\xbb\xbfdid;language\r\n37060000001;lt\r\n", portal_admin, apply=True)
    assert report.layout.delimiter == ";"
    assert Did.objects.get().language == "lt"


def test_excels_sep_line_is_understood(portal_admin):
    report = run("sep=;\ndid;comment\n37060000001;a, b\n", portal_admin, apply=True)
    assert report.layout.delimiter == ";"
    assert Did.objects.get().comment == "a, b"


def test_quoted_cells_keep_delimiters_and_line_breaks(portal_admin):
    run('did,comment\n37060000001,"one, two\nthree ""quoted"""\n', portal_admin, apply=True)
    assert Did.objects.get().comment == 'one, two\nthree "quoted"'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf \r\n\r\n", "The file is empty."),
        (b"did,language\n", "The file has a header but no DIDs under it."),
        (b"did,language\n,\n\n", "The file has a header but no DIDs under it."),
    ],
)
def test_an_empty_file_is_refused(portal_admin, content, expected):
    assert refusal(content, portal_admin) == expected


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(portal_admin):
    content = "did,comment\n37060000001,ok\n37060000002,caf\xe9\n".encode("latin-1")
    message = refusal(content, portal_admin, apply=True)
    assert message.startswith("Line 3 is not UTF-8 text (byte 0xE9 at position 16).")
    assert not Did.objects.exists()  # line 2 was fine, and was not written either


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "This is a ZIP archive (an Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "This is an old Excel (.xls)"),
        (b"%PDF-1.7\n", "This is a PDF document"),
        ("did,comment\n1,a\n".encode("utf-16"), "This is UTF-16 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is a binary file"),
        (b"did,comment\n" + b"1,a\n" * 5000 + b"2,\x00\n", "Line 5002 holds a NUL byte"),
    ],
)
def test_a_binary_file_is_refused(portal_admin, content, expected):
    assert refusal(content, portal_admin).startswith(expected)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "37060000001,Telia\n",
            "The first line is not a recognisable header: it must name the columns, with did "
            "among them, as the CSV export does (e.g. did,provider,language). It starts with "
            "'37060000001': add a header line above the rows.",
        ),
        ("number,provider\n1,x\n", "The first line is not a recognisable header"),
        ("did,langauge\n1,x\n", "Unknown column langauge. The columns an import reads are did,"),
        ("did,comment,DID\n1,x,1\n", "The column did is in the header twice."),
    ],
)
def test_a_file_without_a_recognisable_header_is_refused(portal_admin, content, expected):
    assert refusal(content, portal_admin).startswith(expected)


def test_malformed_csv_is_refused_as_a_whole(portal_admin):
    content = 'did,comment\n37060000001,fine\n37060000002,"unterminated\n37060000003,x\n'
    message = refusal(content, portal_admin, apply=True)
    assert message == "Line 3 is not valid CSV: unexpected end of data."
    assert not Did.objects.exists()


def test_a_stray_quote_is_refused(portal_admin):
    message = refusal('did,comment\n37060000001,"a"b\n', portal_admin)
    assert message.startswith("Line 2 is not valid CSV: ")


def test_a_line_with_the_wrong_number_of_cells_is_rejected(portal_admin):
    report = run(
        "did,language,comment\n37060000001,en\n37060000002,en,x,y\n1,en,x,,\n", portal_admin
    )
    assert reasons(report) == {
        "37060000001": "The line has 2 cells; the header has 3.",
        "37060000002": "The line has 4 cells; the header has 3.",
    }
    assert report.rows[2].outcome == CREATE  # trailing empty cells are no cells


def test_too_many_rows_for_the_page_are_refused(portal_admin):
    content = "did\n" + "".join(f"3706{n:07d}\n" for n in range(11))
    message = refusal(content, portal_admin, max_rows=10)
    assert message.startswith("The file has 11 rows; this page imports at most 10 at a time.")


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(ImportRefused) as refused:
        imports.check_size(5 * 1024 * 1024 + 1, imports.GUI_MAX_BYTES)
    assert refused.value.message == "The file is 5.0 MB; the limit is 5 MB."


# --- What a row may do --------------------------------------------------------------


def test_every_row_of_a_repeated_number_is_rejected(portal_admin):
    content = "did,language\n37060000001,en\n37060000002,en\n 37060000001,lt\n"
    report = run(content, portal_admin, apply=True)
    why = "DID 37060000001 is on lines 2, 4: a number may be on one line only."
    assert reasons(report) == {"37060000001": why}
    assert [r.outcome for r in report.rows] == [REJECT, CREATE, REJECT]
    assert list(Did.objects.values_list("number", flat=True)) == ["37060000002"]


def test_an_existing_number_is_updated_or_left_unchanged(portal_admin, world):
    report = run("did,language\n37060000001,en\n37060000003,de\n", portal_admin)
    assert [r.outcome for r in report.rows] == [UNCHANGED, UPDATE]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("provider_id\n37060000001,12", "Unknown provider 12."),
        ("provider\n37060000001,Nope", "Unknown provider 'Nope'."),
        ("reseller\n37060000001,nobody", "Unknown reseller 'nobody'."),
        ("reseller_id\n37060000001,x", "reseller_id must be a whole number, not 'x'."),
        ("tone_zone\n37060000001,xx", "Tone zone 'xx' is not one of the known zones."),
        ("simultaneous_call_limit\n37060000001,-1", "simultaneous_call_limit must be a whole"),
        ("grace_time\n37060000001,1.5", "grace_time must be a whole number, not '1.5'."),
        ("ai_agent_compatible\n37060000001,maybe", "ai_agent_compatible must be true or false"),
        ("status\n37060000001,Gone", "Unknown status 'Gone': Free, Reserved, Active, Closed"),
        ("id\n37060000001,x", "id must be a whole number, not 'x'."),
        ("updated_at\n37060000001,yesterday", "updated_at must be a time as the export writes"),
        ("language\n37060000001,a\tb", "Language must be one line of text without control"),
    ],
)
def test_a_value_that_is_not_valid_rejects_its_row_with_the_reason(portal_admin, row, expected):
    before = tables()
    report = run(f"did,{row}\n", portal_admin, apply=True)
    assert report.rows[0].outcome == REJECT
    assert report.rows[0].reason.startswith(expected)
    assert tables() == before


def test_every_problem_of_a_row_is_named(portal_admin):
    report = run("did,provider_id,grace_time\n37060000001,12,x\n", portal_admin)
    assert report.rows[0].reason == (
        "grace_time must be a whole number, not 'x'. Unknown provider 12."
    )


def test_two_providers_of_one_name_need_the_id(portal_admin):
    first = ProviderFactory(name="Twin")
    second = ProviderFactory(name="Twin")
    report = run("did,provider\n37060000001,Twin\n", portal_admin)
    assert report.rows[0].reason == (
        f"Several providers are named 'Twin' (ids {first.pk}, {second.pk}): "
        "give provider_id instead."
    )
    ok = run(f"did,provider,provider_id\n37060000001,Twin,{second.pk}\n", portal_admin, apply=True)
    assert ok.rows[0].outcome == CREATE
    assert Did.objects.get().provider == second


def test_a_reseller_is_named_by_username_name_or_id(portal_admin, reseller):
    content = (
        "did,reseller,reseller_id\n"
        f"37060000001,charlie,\n37060000002,Charlie Resale,\n37060000003,,{reseller.pk}\n"
    )
    run(content, portal_admin, apply=True)
    assert set(Did.objects.values_list("reseller", flat=True)) == {reseller.pk}


def test_formula_looking_cells_are_text_and_the_exports_guard_is_undone(portal_admin):
    content = (
        "did,comment,language\n"
        "37060000001,'=1+1,en\n"
        '37060000002,"=HYPERLINK(""http://x"")",en\n'
        "37060000003,@SUM(A1),'-x\n"
        "=37060000004,,\n"
    )
    report = run(content, portal_admin, apply=True)
    comments = dict(Did.objects.values_list("number", "comment"))
    assert comments == {
        "37060000001": "=1+1",
        "37060000002": '=HYPERLINK("http://x")',
        "37060000003": "@SUM(A1)",
    }
    assert Did.objects.get(number="37060000003").language == "-x"
    assert reasons(report) == {
        "=37060000004": "'=37060000004' is not a DID number: a digit, then digits or letters."
    }
    exported = "".join(csv_lines(Did.objects.for_listing().order_by("number"), portal_admin))
    assert ",'=1+1," in exported
    assert ",'@SUM(A1)," in exported
    assert dict(run(exported, portal_admin).counts) == {UNCHANGED: 3}


def test_an_id_must_be_the_dids_own(portal_admin, world):
    did = world["free"]
    report = run(f"did,id\n37060000001,{did.pk + 100}\n37069999999,{did.pk}\n", portal_admin)
    assert reasons(report) == {
        "37060000001": f"DID 37060000001 has the id {did.pk}, not {did.pk + 100}.",
        "37069999999": f"No DID has the number 37069999999, but the row gives the id {did.pk}: "
        "leave id empty to create it.",
    }


def test_a_row_older_than_the_did_is_rejected_if_it_would_change_it(portal_admin, world):
    Did.objects.filter(number="37060000001").update(updated_at=timezone.now())
    old = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = f"did,language,updated_at\n37060000001,en,{old}\n37060000001,sv,{old}\n"
    same, changed = run(content.replace("\n37060000001,en", "\n37060000005,en"), portal_admin).rows
    assert same.outcome == CREATE  # not a DID yet: nothing to compare
    assert changed.reason.startswith("DID 37060000001 was changed at ")
    assert changed.reason.endswith(
        f"the row is from {old}. Export it again, or empty its updated_at cell to overwrite "
        "the change."
    )
    unchanged = run(f"did,language,updated_at\n37060000001,en,{old}\n", portal_admin)
    assert unchanged.rows[0].outcome == UNCHANGED  # it would change nothing


# --- Status: the lifecycle through the services ------------------------------------


@pytest.mark.parametrize(
    ("number", "status", "outcome", "expected"),
    [
        ("37060000002", "Closed", UPDATE, "closed"),
        ("37060000002", "free", UPDATE, "free"),
        ("37060000001", "Terminated", UPDATE, "terminated"),
        ("37060000004", "Free", UPDATE, "free"),
        ("37060000001", "Closed", REJECT, "free"),
        ("37060000001", "Active", REJECT, "free"),
        ("37060000003", "Terminated", REJECT, "free"),
    ],
)
def test_the_status_column_moves_dids_through_the_lifecycle(
    portal_admin, world, number, status, outcome, expected
):
    report = run(f"did,status\n{number},{status}\n", portal_admin, apply=True)
    assert report.rows[0].outcome == outcome, report.rows[0].reason
    assert Did.objects.get(number=number).status == expected


def test_a_refused_move_says_why(portal_admin, world):
    report = run("did,status\n37060000003,Terminated\n37060000001,Closed\n", portal_admin)
    assert reasons(report) == {
        "37060000003": "Status Free → Terminated: DID 37060000003 is free and held by a "
        'reseller (take it back first): "terminate" is not possible.',
        "37060000001": 'Status Free → Closed: DID 37060000001 is free: only "reserve for user",'
        ' "assign device", "assign dial plan", "hand to reseller" or "terminate" are possible.',
    }


def test_a_closed_did_becomes_active_again(portal_admin, world):
    active = world["active"]
    run("did,status\n37060000002,Closed\n", portal_admin, apply=True)
    run("did,status\n37060000002,Active\n", portal_admin, apply=True)
    active.refresh_from_db()
    assert (active.status, active.reserved_for_user_till) == ("active", None)
    assert [e.action for e in active.history.order_by("pk")] == ["close", "re-activate"]


def test_the_reseller_column_hands_and_takes_back(portal_admin, reseller, world):
    report = run(
        "did,reseller\n37060000001,charlie\n37060000003,\n37060000002,charlie\n",
        portal_admin,
        apply=True,
    )
    assert [r.outcome for r in report.rows] == [UPDATE, UPDATE, REJECT]
    assert Did.objects.get(number="37060000001").reseller == reseller
    assert Did.objects.get(number="37060000003").reseller is None
    assert [e.action for e in DidHistory.objects.order_by("did__number")] == [
        "hand to reseller",
        "take back from reseller",
    ]


def test_one_lifecycle_move_per_row(portal_admin, reseller, world):
    report = run("did,status,reseller\n37060000004,Free,charlie\n", portal_admin)
    assert report.rows[0].reason.startswith("The row changes both the status and the reseller")


def test_a_move_that_would_contradict_the_row_is_rejected(portal_admin, reseller, world):
    held_active = world["active"]
    Did.objects.filter(pk=held_active.pk).update(reseller=reseller)
    keep = run("did,status,reseller\n37060000002,Free,charlie\n", portal_admin)
    assert keep.rows[0].reason == (
        '"make free" also takes DID 37060000002 from its reseller Charlie Resale, and the row '
        "keeps it there: empty its reseller cell to do both."
    )
    both = run("did,status,reseller\n37060000002,Free,\n", portal_admin, apply=True)
    assert both.rows[0].outcome == UPDATE
    assert Did.objects.get(pk=held_active.pk).reseller is None
    assert run("did,status,reseller\n37060000002,Free,\n", portal_admin).rows[0].outcome == (
        UNCHANGED
    )


def test_a_new_did_is_free(portal_admin):
    report = run("did,status\n37060000001,Active\n37060000002,Free\n", portal_admin)
    assert reasons(report) == {"37060000001": "A new DID is free: it cannot be created active."}


def test_an_expired_closed_did_is_seen_released(portal_admin, world):
    Did.objects.filter(pk=world["active"].pk).update(
        status="closed", reserved_for_user_till=timezone.now() - timedelta(days=1)
    )
    report = run("did,status\n37060000002,Free\n", portal_admin)
    assert report.rows[0].outcome == UNCHANGED
    assert Did.objects.get(pk=world["active"].pk).status == "closed"  # the dry run wrote nothing


# --- Who may ----------------------------------------------------------------------------


def test_a_reseller_updates_its_own_dids_and_never_sees_others(reseller, world):
    report = run(
        "did,comment,language\n37060000003,mine,fi\n37060000001,x,fi\n", reseller, apply=True
    )
    assert reasons(report)["37060000001"] == "DID 37060000001 already exists."
    held = Did.objects.get(number="37060000003")
    assert (held.reseller_comment, held.comment, held.language) == ("mine", "", "fi")
    assert Did.objects.get(number="37060000001").language == "en"


def test_a_reseller_may_not_change_the_operators_fields(reseller, world):
    report = run("did,ai_agent_compatible,reseller\n37060000003,true,dave\n", reseller)
    assert (
        report.rows[0].reason == "Only the operator hands DIDs to resellers: your DIDs stay yours."
    )
    report = run("did,ai_agent_compatible\n37060000003,true\n", reseller)
    assert report.rows[0].reason == "You may not change the AI-agent compatible."


def test_a_reseller_creates_only_with_the_setting_on_its_own_provider(reseller, telia):
    reseller.own_providers = True
    reseller.save()
    own = ProviderFactory(owner=reseller, name="Own")
    content = "did,provider\n37060000001,Own\n37060000002,Telia\n"
    off = run(content, reseller)
    assert off.rows[0].reason.startswith("Resellers may create DIDs only while the system setting")
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = True
    settings.save()
    on = run(content, reseller, apply=True)
    assert reasons(on) == {"37060000002": "Unknown provider 'Telia'."}
    did = Did.objects.get()
    assert (did.number, did.provider, did.reseller) == ("37060000001", own, reseller)


@pytest.mark.parametrize("name", ["accountant", "accountant_without_right", "end_user"])
def test_who_may_not_change_dids_imports_nothing(request, name):
    assert refusal("did\n37060000001\n", request.getfixturevalue(name)) == (
        "You may not change DIDs."
    )


def test_an_export_naming_shared_names_imports_unchanged(portal_admin, reseller, other_reseller):
    """Two resellers, and two providers, of one name: the export names them alike, and each
    DID keeps its own; a new DID or another DID cannot tell them apart."""
    other_reseller.first_name, other_reseller.last_name = "Charlie", "Resale"
    other_reseller.save()
    twins = [ProviderFactory(name="Twin"), ProviderFactory(name="Twin")]
    DidFactory(number="37060000001", reseller=reseller, provider=twins[0])
    DidFactory(number="37060000002", reseller=other_reseller, provider=twins[1])
    DidFactory(number="37060000003")
    exported = "".join(csv_lines(Did.objects.for_listing().order_by("number"), portal_admin))
    assert dict(run(exported, portal_admin).counts) == {UNCHANGED: 3}

    report = run(
        "did,provider,reseller\n37060000003,Twin,\n37060000004,,Charlie Resale\n", portal_admin
    )
    assert [r.reason.split(" (ids")[0] for r in report.rows] == [
        "Several providers are named 'Twin'",
        "Several resellers are named 'Charlie Resale'",
    ]
