"""Creating DIDs in a real browser (system Chromium via Playwright): a range from the
Add DIDs page; a CSV import through its dry run."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import SystemSettings
from dids.models import Did, DidHistory
from portal.testing.factories import DidFactory, ProviderFactory

pytestmark = pytest.mark.browser


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_admin_creates_a_range(signed_in_page, screenshot, portal_admin, reseller):
    telia = ProviderFactory(owner=None, name="Telia")
    DidFactory(number="37060000050")
    page = signed_in_page(portal_admin)
    errors = console_errors(page)
    page.click("#portal-nav >> text=Add DIDs")
    assert page.locator("h1").inner_text() == "Add DIDs"

    # A range that meets an existing number: refused whole, the clash named.
    page.fill("#id_numbers", "37060000000-37060000099")
    page.select_option("#id_provider", label=f"Telia (#{telia.pk})")
    # The reseller field is a name picker: type part of the name, choose the match.
    box = page.locator("#id_reseller_search")
    box.click()
    box.press_sequentially("charlie", delay=30)
    option = page.locator("#id_reseller_search_list li", has_text="Charlie Resale")
    option.wait_for()
    option.click()
    page.fill("#id_language", "lt")
    page.click("#did-create-form input[type=submit]")
    assert "1 of these numbers exist already: 37060000050. Nothing was created." in (
        page.locator(".field-numbers .errorlist").inner_text()
    )
    assert "Reseller: Charlie Resale (charlie)." in page.locator(".field-reseller").inner_text()
    assert page.input_value("#id_language") == "lt"
    screenshot(page, "clash")
    assert Did.objects.count() == 1

    page.fill("#id_numbers", "37060000100 - 37060000199")
    page.click("#did-create-form input[type=submit]")

    assert page.locator("ul.messagelist").inner_text() == (
        "100 DIDs were created, 37060000100 to 37060000199."
    )
    assert parse_qs(urlsplit(page.url).query)["search_did_number"] == ["370600001%"]
    assert page.locator("#did-paginator .did-count").inner_text() == "100 DIDs"
    created = Did.objects.exclude(number="37060000050")
    assert set(created.values_list("status", "provider", "reseller", "language")) == {
        ("free", telia.pk, reseller.pk, "lt")
    }
    assert DidHistory.objects.filter(action="create", source="gui").count() == 100
    screenshot(page, "created")
    assert errors == []


def test_reseller_sees_add_dids_only_while_the_setting_is_on(signed_in_page, reseller):
    reseller.own_providers = True
    reseller.save()
    page = signed_in_page(reseller)
    assert page.locator("#portal-nav >> text=Add DIDs").count() == 0
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = True
    settings.save()
    page.reload()
    assert page.locator("#portal-nav >> text=Add DIDs").count() == 1


def test_an_import_with_its_dry_run(signed_in_page, screenshot, portal_admin, tmp_path):
    ProviderFactory(owner=None, name="Telia")
    DidFactory(number="37060000001", language="en")
    DidFactory(number="37060000002", language="en")
    path = tmp_path / "dids.csv"
    path.write_text(
        "\ufeffdid;provider;language;comment\n"
        "37060000001;;en;\n"
        "37060000002;;fi;moved\n"
        "37060000003;Telia;lt;'=new block\n"
        "37060000004;Nobody;lt;\n",
        encoding="utf-8",
    )
    page = signed_in_page(portal_admin)
    errors = console_errors(page)
    page.click("#portal-nav >> text=Import DIDs")
    page.set_input_files("#id_file", str(path))
    page.click("#did-import-form input[type=submit]")

    assert page.locator("h1").inner_text() == "Import DIDs: dry run"
    counts = {
        el.get_attribute("data-outcome"): el.inner_text()
        for el in page.locator("#import-counts .count").all()
    }
    assert counts == {"create": "1", "update": "1", "unchanged": "1", "reject": "1"}
    rows = page.locator("#import-rows tbody tr")
    assert rows.nth(3).inner_text().split("\t")[:3] == ["5", "37060000004", "Rejected"]
    assert "Unknown provider 'Nobody'." in rows.nth(3).inner_text()
    assert "language: en → fi" in rows.nth(1).inner_text()
    screenshot(page, "dry-run")
    assert DidHistory.objects.count() == 0  # a dry run

    page.click("#import-apply input[type=submit]")

    assert page.locator("ul.messagelist").inner_text() == (
        "Imported: 1 created, 1 updated, 1 unchanged, 1 rejected."
    )
    assert page.locator("h1").inner_text() == "Import DIDs: imported"
    assert page.locator("#import-apply").count() == 0
    assert list(Did.objects.order_by("number").values_list("number", "language", "comment")) == [
        ("37060000001", "en", ""),
        ("37060000002", "fi", "moved"),
        ("37060000003", "lt", "=new block"),
    ]
    assert set(DidHistory.objects.values_list("source", flat=True)) == {"import"}
    screenshot(page, "imported")
    assert errors == []
