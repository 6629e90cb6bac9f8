"""What a person does with the home page, the name pickers, the device pages and the
phone layout, in a real browser (system Chromium via Playwright)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEntry, User
from dids.models import Device, Did
from portal.testing.factories import DeviceFactory, DidFactory, UserFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.fixture
def inventory(reseller, reseller_user, end_user):
    device = DeviceFactory(type="IAX2", name="105", user=reseller_user)
    dids = [
        DidFactory(number=f"370600000{n:02d}", status=status, reseller=reseller if n < 4 else None)
        for n, status in enumerate(
            [Did.Status.FREE, Did.Status.FREE, Did.Status.RESERVED, Did.Status.TERMINATED]
            + [Did.Status.FREE] * 6
        )
    ]
    dids[1].user, dids[1].device, dids[1].status = reseller_user, device, Did.Status.ACTIVE
    dids[1].save()
    dids[2].user = reseller_user
    dids[2].save()
    return dids


def test_signing_in_lands_on_the_home_page_whose_numbers_open_their_dids(
    signed_in_page, screenshot, portal_admin, inventory
):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    page = signed_in_page(portal_admin, next_url="")
    errors = watch_console(page)
    page.reload()

    assert urlsplit(page.url).path == "/"
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("#total-count").inner_text() == "10"
    assert page.locator(".status-chart rect").count() == 4  # free, reserved, active, terminated
    screenshot(page, "home")

    # A status's number opens the list of exactly those DIDs, terminated ones included.
    page.click("#card-status .figure-terminated a")
    page.wait_for_load_state()
    assert query_of(page) == {
        "search_status": ["terminated"],
        "search_hide_terminated_dids": ["0"],
    }
    assert page.locator("#did-paginator .did-count").inner_text() == "1 DID"
    page.go_back()
    # So does a reseller's.
    page.click("#card-resellers a >> text=4")
    page.wait_for_load_state()
    assert page.locator("#did-paginator .did-count").inner_text() == "4 DIDs"
    assert errors == []


def test_a_reseller_sees_its_own_overview_and_blocks(
    signed_in_page, screenshot, reseller, inventory
):
    page = signed_in_page(reseller, next_url="")

    assert page.locator("#total-count").inner_text() == "4"
    assert "By user" in page.locator("#card-users h2").inner_text()
    assert page.locator("#card-resellers").count() == 0
    page.click("#portal-nav >> text=Number blocks")
    page.wait_for_load_state()
    page.fill("#id_digits", "9")
    page.click("#blocks-form input[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("th").inner_text() == "370600000…"
    screenshot(page, "blocks")


def test_the_user_picker_searches_by_name_and_the_url_keeps_the_id(
    signed_in_page, screenshot, portal_admin, reseller_user, inventory
):
    page = signed_in_page(portal_admin)
    errors = watch_console(page)
    page.reload()

    box = page.locator("#id_search_user_search")
    assert page.locator("label[for=id_search_user_search]").inner_text() == "User"
    box.click()
    box.press_sequentially("erin", delay=30)
    option = page.locator("#id_search_user_search_list li", has_text="Erin Customer (erin)")
    option.wait_for()
    screenshot(page, "picker-open")
    option.click()
    assert box.input_value() == "Erin Customer (erin)"
    page.click("#did-filter-form input[type=submit]")
    page.wait_for_load_state()

    assert query_of(page)["search_user"] == [str(reseller_user.pk)]
    assert page.locator("#did-paginator .did-count").inner_text() == "2 DIDs"
    # The URL pasted into a new page shows the name, not the id.
    pasted = page.context.new_page()
    pasted.goto(page.url)
    # (expect polls from outside the page: the CSP forbids the eval of wait_for_function)
    expect(pasted.locator("#id_search_user_search")).to_have_value("Erin Customer (erin)")
    # Keyboard: arrows and Enter choose "none" (0), then the form sends search_user=0.
    box = pasted.locator("#id_search_user_search")
    box.fill("")
    box.press_sequentially("without", delay=30)
    pasted.locator("#id_search_user_search_list li", has_text="DIDs without an end user").wait_for()
    box.press("Enter")
    assert pasted.locator("#id_search_user").input_value() == "0"
    pasted.click("#did-filter-form input[type=submit]")
    pasted.wait_for_load_state()
    assert query_of(pasted)["search_user"] == ["0"]
    assert errors == []


def test_a_reseller_adds_edits_and_deletes_a_device(
    signed_in_page, screenshot, reseller, reseller_user, inventory
):
    UserFactory(username="zoe", first_name="Zoe", last_name="Other", role=User.Role.USER)
    page = signed_in_page(reseller, next_url="/devices/")
    errors = watch_console(page)
    page.reload()

    page.click("text=Add device")
    page.fill("#id_type", "SIP")
    page.fill("#id_name", "lobby")
    page.fill("#id_extension", "300")
    user_box = page.locator("#id_user_search")
    user_box.press_sequentially("e", delay=30)
    options = page.locator("#id_user_search_list li[role=option]")
    options.first.wait_for()
    # Only its own users: never the system's Zoe.
    assert options.all_inner_texts() == ["Erin Customer (erin)"]
    options.first.click()
    screenshot(page, "device-new")
    page.click("input[name=_continue]")
    page.wait_for_load_state()

    device = Device.objects.get(name="lobby")
    assert (device.type, device.extension, device.user) == ("SIP", "300", reseller_user)
    assert urlsplit(page.url).path == f"/devices/{device.pk}/"
    # The box first shows the stored id, then the name the picker looks up for it.
    expect(page.locator("#id_user_search")).to_have_value("Erin Customer (erin)")

    page.fill("#id_name", "reception")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/devices/"
    assert "SIP/reception" in page.locator("#result_list").inner_text()

    page.click("#result_list >> text=SIP/reception")
    page.click(".object-tools >> text=Delete")
    page.wait_for_load_state()
    page.click("text=Yes, delete it")
    page.wait_for_load_state()
    assert not Device.objects.filter(pk=device.pk).exists()
    assert "was deleted" in page.locator(".messagelist").inner_text()
    assert [e.action for e in AuditEntry.objects.filter(object_type="device").order_by("id")] == [
        "create",
        "update",
        "delete",
    ]

    # A device that a DID uses cannot go: the page says how many and links to them.
    page.goto(f"/devices/{inventory[1].device_id}/delete/")
    assert "1 DID uses it" in page.locator("#delete-blocked").inner_text()
    page.click("#blocking-dids")
    page.wait_for_load_state()
    assert page.locator("#did-paginator .did-count").inner_text() == "1 DID"
    assert errors == []


def fits_the_phone(page) -> None:
    """Nothing wider than the screen: the page never scrolls sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_list_a_did_page_and_a_form_work_on_a_phone(
    signed_in_page, screenshot, portal_admin, inventory
):
    page = signed_in_page(portal_admin)
    errors = watch_console(page)
    page.set_viewport_size(PHONE)
    page.reload()

    # The list: the menu is folded behind its button, the filter panel is above the
    # list, folded too, and the table scrolls inside its box.
    fits_the_phone(page)
    assert page.locator("#portal-nav").is_hidden()
    page.click("#menu-toggle")
    assert page.locator("#portal-nav").is_visible()
    assert page.locator("#menu-toggle").get_attribute("aria-expanded") == "true"
    screenshot(page, "phone-menu")
    page.click("#menu-toggle")
    assert page.locator("#portal-nav").is_hidden()
    panel = page.locator("#changelist-filter").bounding_box()
    table = page.locator("#result_list").bounding_box()
    assert panel["y"] < table["y"]
    assert page.locator("#did-filter-form").is_hidden()
    page.click("#filter-toggle")
    page.fill("#id_search_did_number", "3706000000")
    page.click("#did-filter-form input[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#did-paginator .did-count").inner_text() == "10 DIDs"
    width = page.locator("#result_list").evaluate(
        "t => t.closest('.changelist-form-container').clientWidth"
    )
    assert width <= PHONE["width"]
    fits_the_phone(page)
    screenshot(page, "phone-list")

    # The DID page: its fields one under the other, the way back keeps the filter.
    page.click("#result_list >> text=37060000001")
    page.wait_for_load_state()
    fits_the_phone(page)
    assert page.locator("#did-status").is_visible()
    assert "search_did_number=3706000000" in page.locator("#back-to-list").get_attribute("href")
    page.click("#next-did")
    page.wait_for_load_state()
    assert "37060000002" in page.locator("h1").inner_text()
    screenshot(page, "phone-did")

    # A form: every field and the buttons within the screen.
    page.goto("/devices/new/")
    fits_the_phone(page)
    for selector in ("#id_type", "#id_user_search", "input[name=_save]", "input[name=_continue]"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], selector
    screenshot(page, "phone-form")
    assert errors == []


def test_the_desktop_keeps_the_admin_layout(signed_in_page, portal_admin, inventory):
    page = signed_in_page(portal_admin)

    assert page.locator("#menu-toggle").is_hidden()
    assert page.locator("#portal-nav").is_visible()
    assert page.locator("#filter-toggle").is_hidden()
    panel = page.locator("#changelist-filter").bounding_box()
    table = page.locator("#result_list").bounding_box()
    assert panel["x"] > table["x"] + table["width"] - 1  # the filter panel on the right
