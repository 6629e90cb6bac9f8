"""Bulk actions in a real browser (system Chromium via Playwright): tick, select all N,
pick an action, read the confirmation page, apply; with and without JavaScript."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from dids.models import Did, DidHistory
from portal.testing.browser import PASSWORD, TIMEOUT_MS
from portal.testing.factories import DeviceFactory, DidFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def inventory(end_user):
    """25 DIDs: 15 active on a device, 6 free, 4 terminated."""
    device = DeviceFactory(user=end_user)
    dids = []
    for n in range(25):
        if n < 15:
            values = {"status": Did.Status.ACTIVE, "user": end_user, "device": device}
        elif n < 21:
            values = {"status": Did.Status.FREE}
        else:
            values = {"status": Did.Status.TERMINATED}
        dids.append(DidFactory(number=f"370600001{n:02d}", **values))
    return dids


def test_a_bulk_close_of_every_matching_did_with_its_confirmation_page(
    signed_in_page, screenshot, portal_admin, inventory
):
    portal_admin.items_per_page = 10
    portal_admin.save()
    page = signed_in_page(portal_admin)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.reload()

    # Without a tick the counter says so; the no-JavaScript checkbox is replaced by the link.
    assert page.locator("#bulk-counter").inner_text() == "0 of 10 selected"
    assert page.locator("#select-across-choice").is_hidden()
    assert page.locator("#select-across-question").is_hidden()
    page.locator("#action-toggle").check()
    assert page.locator("#bulk-counter").inner_text() == "10 of 10 selected"
    assert page.locator("input.action-select:checked").count() == 10
    screenshot(page, "page-ticked")
    page.click("#select-across-link")
    assert page.locator("#select-across-all").inner_text() == (
        "All 25 DIDs that match the filters are selected."
    )
    assert page.locator("#bulk-counter").inner_text() == "25 of 25 selected"
    page.select_option("#bulk-action", "close")
    screenshot(page, "all-selected")
    page.click("#bulk-go")
    page.wait_for_load_state()

    assert urlsplit(page.url).path == "/dids/bulk/"
    assert page.locator("h1").inner_text() == "Close: 25 DIDs"
    assert page.locator("#bulk-selection").inner_text() == (
        "Selected: all 25 DIDs that match the list's filters."
    )
    assert page.locator("#bulk-summary").inner_text() == "15 DIDs change; 10 are skipped."
    reasons = page.locator("#bulk-skips tbody tr").all_inner_texts()
    assert [r.split("\t")[:2] for r in reasons] == [
        [
            'The DID is free: only "reserve for user", "assign device", "assign dial plan", '
            '"hand to reseller" or "terminate" are possible.',
            "6",
        ],
        ['The DID is terminated: only "make free" or "delete" are possible.', "4"],
    ]
    assert Did.objects.filter(status=Did.Status.CLOSED).count() == 0  # nothing yet
    screenshot(page, "confirmation")

    page.click("#bulk-apply")
    page.wait_for_load_state()

    assert urlsplit(page.url).path == "/dids/"
    messages = page.locator(".messagelist li").all_inner_texts()
    assert messages[:2] == ["15 DIDs closed.", "10 DIDs skipped:"]
    assert Did.objects.filter(status=Did.Status.CLOSED).count() == 15
    assert DidHistory.objects.filter(action="close", source="gui").count() == 15
    assert console_errors == []
    screenshot(page, "applied")


def test_ticked_rows_without_javascript(new_context, live_server, screenshot, portal_admin):
    """The form alone: tick two rows, pick an action, confirm, apply."""
    user = UserFactory(username="zoe")
    device = DeviceFactory(user=user)
    dids = [DidFactory(status="active", user=user, device=device) for _ in range(3)]
    context = new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", portal_admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    page.wait_for_load_state()
    page.goto("/dids/")  # signing in lands on the home page

    assert page.locator("#action-toggle").is_hidden()  # it needs JavaScript
    page.check(f"input.action-select[value='{dids[0].pk}']")
    page.check(f"input.action-select[value='{dids[2].pk}']")
    page.select_option("#bulk-action", "make_free")
    page.click("#bulk-go")
    page.wait_for_load_state()
    assert page.locator("#bulk-selection").inner_text() == "Selected: 2 ticked DIDs."
    assert page.locator("#bulk-summary").inner_text() == "2 DIDs change."
    screenshot(page, "confirmation")
    page.click("#bulk-apply")
    page.wait_for_load_state()

    assert page.locator(".messagelist li").all_inner_texts() == ["2 DIDs made free."]
    assert [Did.objects.get(pk=d.pk).status for d in dids] == ["free", "active", "free"]


def test_set_language_asks_for_the_value_first(signed_in_page, screenshot, portal_admin):
    dids = [DidFactory(language="en") for _ in range(3)]
    page = signed_in_page(portal_admin)

    page.locator("#action-toggle").check()
    page.select_option("#bulk-action", "set_language")
    page.click("#bulk-go")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Set language: 3 DIDs"
    page.fill("#id_value", "two words\u0007")
    page.click("#bulk-next")
    page.wait_for_load_state()
    assert "Language must be one line of text" in page.locator(".errorlist").inner_text()
    page.fill("#id_value", "lt")
    screenshot(page, "value")
    page.click("#bulk-next")
    page.wait_for_load_state()
    assert page.locator("#bulk-value").inner_text() == "Language: lt"
    assert page.locator("#bulk-summary").inner_text() == "3 DIDs change."
    page.click("#bulk-apply")
    page.wait_for_load_state()

    assert page.locator(".messagelist li").all_inner_texts() == ["3 DIDs changed (language: lt)."]
    assert {Did.objects.get(pk=d.pk).language for d in dids} == {"lt"}
