"""The import pages: upload → dry run page → Import, which applies exactly that dry run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dids.models import Did, DidHistory, DidImport
from dids.tests.test_import import tables
from dids.views import imports as import_views
from portal.testing.factories import DidFactory, ProviderFactory

URL = reverse("dids:import")
CONTENT = (
    "did,provider,language,status\n"
    "37060000001,Telia,en,\n"
    "37060000002,,lt,Closed\n"
    "37060000003,Nope,,\n"
)


@pytest.fixture
def catalogue(db):
    ProviderFactory(owner=None, name="Telia")
    return DidFactory(number="37060000002", language="en")


def upload(client, content: bytes | str, name: str = "dids.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def plan_page(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response.url)


def file_errors(response) -> list[str]:
    return list(response.context["form"].errors.get("file", []))


def test_the_dry_run_page_lists_every_row_and_writes_nothing(client, portal_admin, catalogue):
    client.force_login(portal_admin)
    before = tables()

    page = plan_page(client, upload(client, CONTENT))

    assert tables() == before
    html = page.content.decode()
    assert page.context["title"] == "Import DIDs: dry run"
    assert page.context["counts"] == [
        ("create", "Create", 1),
        ("update", "Update", 0),
        ("unchanged", "Unchanged", 0),
        ("reject", "Rejected", 2),
    ]
    assert [(r["line"], r["number"], r["label"]) for r in page.context["rows"]] == [
        (2, "37060000001", "Create"),
        (3, "37060000002", "Rejected"),
        (4, "37060000003", "Rejected"),
    ]
    assert "Unknown provider &#x27;Nope&#x27;." in html
    assert "Status Free → Closed: DID 37060000002 is free: only" in html
    assert 'id="import-apply"' in html
    rejected = client.get(page.request["PATH_INFO"], {"show": "reject"})
    assert [r["line"] for r in rejected.context["rows"]] == [3, 4]


def test_import_applies_the_dry_run_once(client, portal_admin, catalogue):
    client.force_login(portal_admin)
    page = plan_page(client, upload(client, CONTENT))
    stored = page.context["stored"]

    response = client.post(page.request["PATH_INFO"], {"digest": stored.plan_digest})

    assert response.status_code == 302
    assert list(Did.objects.order_by("number").values_list("number", "language")) == [
        ("37060000001", "en"),
        ("37060000002", "en"),
    ]
    entry = DidHistory.objects.get()
    assert (entry.source, entry.by, entry.address) == ("import", portal_admin, "127.0.0.1")
    done = client.get(response.url)
    assert "Imported: 1 created, 0 updated, 0 unchanged, 2 rejected." in done.content.decode()
    assert done.context["applied"]
    assert 'id="import-apply"' not in done.content.decode()
    again = client.post(page.request["PATH_INFO"], {"digest": stored.plan_digest}, follow=True)
    assert "This file was imported already." in again.content.decode()
    assert DidHistory.objects.count() == 1


def test_data_changed_since_the_dry_run_shows_a_new_dry_run(client, portal_admin, catalogue):
    client.force_login(portal_admin)
    page = plan_page(client, upload(client, CONTENT))
    first = page.context["stored"].plan_digest
    DidFactory(number="37060000001", language="fi")
    before = tables()

    response = client.post(page.request["PATH_INFO"], {"digest": first}, follow=True)

    assert tables() == before
    html = response.content.decode()
    assert "The DIDs changed since this dry run was made." in html
    assert response.context["rows"][0]["label"] == "Update"
    stored = DidImport.objects.get()
    assert stored.plan_digest != first
    assert stored.state == "planned"
    client.post(page.request["PATH_INFO"], {"digest": stored.plan_digest})
    assert Did.objects.get(number="37060000001").language == "en"


def test_an_older_page_of_the_dry_run_imports_nothing(client, portal_admin, catalogue):
    client.force_login(portal_admin)
    page = plan_page(client, upload(client, CONTENT))
    response = client.post(page.request["PATH_INFO"], {"digest": "0" * 64}, follow=True)
    assert "This page showed an older dry run of the file." in response.content.decode()
    assert not DidHistory.objects.exists()


def test_nothing_to_import_offers_no_button(client, portal_admin, catalogue):
    client.force_login(portal_admin)
    page = plan_page(client, upload(client, "did,language\n37060000002,en\n"))
    assert 'id="nothing-to-import"' in page.content.decode()
    assert 'id="import-apply"' not in page.content.decode()


def test_an_upload_is_its_uploaders_and_kept_for_a_day(client, portal_admin, other_admin):
    client.force_login(portal_admin)
    response = upload(client, "did\n37060000001\n")
    client.force_login(other_admin)
    assert client.get(response.url).status_code == 404
    stored = DidImport.objects.get()
    assert client.post(response.url, {"digest": stored.plan_digest}).status_code == 404
    client.force_login(portal_admin)
    DidImport.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert client.get(response.url).status_code == 404
    upload(client, "did\n37060000001\n")
    assert DidImport.objects.count() == 1  # the expired one is gone
    assert not Did.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PK\x03\x04\x14\x00", "This is a ZIP archive (an Excel .xlsx or OpenDocument"),
        ("did,comment\n1,caf\xe9\n".encode("latin-1"), "Line 2 is not UTF-8 text"),
        (b"37060000001,x\n", "The first line is not a recognisable header"),
        (b"did,nope\n1,2\n", "Unknown column nope."),
        (b"did\n", "The file has a header but no DIDs under it."),
        (b"   \n", "The file is empty."),
        (b"", "The submitted file is empty."),
    ],
)
def test_a_refused_file_is_a_form_error_and_nothing_is_stored(
    client, portal_admin, content, expected
):
    client.force_login(portal_admin)
    response = upload(client, content)
    assert response.status_code == 200
    [message] = file_errors(response)
    assert message.startswith(expected)
    assert not DidImport.objects.exists()


def test_a_file_over_the_limits_is_refused(client, portal_admin, monkeypatch):
    client.force_login(portal_admin)
    big = b"did,comment\n" + b"37060000001," + b"x" * (5 * 1024 * 1024) + b"\n"
    assert file_errors(upload(client, big)) == [
        "The file is 5.0 MB; the limit is 5 MB. Nothing was imported."
    ]
    monkeypatch.setattr(import_views, "GUI_MAX_ROWS", 3)
    rows = "did\n" + "".join(f"3706000000{n}\n" for n in range(4))
    [message] = file_errors(upload(client, rows))
    assert message.startswith("The file has 4 rows; this page imports at most 3 at a time.")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("portal_admin", 200),
        ("reseller", 200),
        ("accountant", 403),
        ("accountant_without_right", 403),
        ("end_user", 403),
    ],
)
def test_who_may_import(request, client, name, status):
    account = request.getfixturevalue(name)
    client.force_login(account)
    page = client.get(URL)
    assert page.status_code == status
    assert ("Import DIDs" in [i["label"] for i in page.context["portal_nav"]]) is (status == 200)
    response = upload(client, "did\n37060000001\n")
    assert response.status_code == (302 if status == 200 else 403)
    assert not Did.objects.exists()


def test_the_403_page_says_why(client, accountant):
    client.force_login(accountant)
    html = client.get(URL).content.decode()
    assert "Importing DIDs needs the Manage DIDs right at write level." in html


def test_the_upload_page_documents_the_format(client, portal_admin):
    client.force_login(portal_admin)
    html = client.get(URL).content.decode()
    for text in ("<code>provider_id</code>", "10,000 rows and 5 MB", "re-activate, from closed"):
        assert text in html
