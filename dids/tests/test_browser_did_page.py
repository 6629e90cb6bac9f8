"""The DID page in a real browser (system Chromium via Playwright): an operator takes one
DID through its life (reserve → assign device → close → make free) and a reseller works
on its own DID, with the page's forms, suggestions and confirmation pages only."""

from __future__ import annotations

import re

import pytest

from accounts.models import SystemSettings, User
from dids.models import Did
from portal.testing.factories import DeviceFactory, DidFactory, UserFactory

pytestmark = pytest.mark.browser


def watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def status_of(page) -> str:
    return page.locator("#did-status").inner_text()


def message_of(page) -> str:
    return page.locator("ul.messagelist li").inner_text()


def history_actions(page) -> list[str]:
    return page.locator("#did-history tbody tr td:nth-child(4)").all_inner_texts()


def test_an_operator_takes_a_did_through_its_life(
    signed_in_page, screenshot, portal_admin, end_user
):
    SystemSettings.objects.update_or_create(pk=1, defaults={"days_for_did_close": 30})
    device = DeviceFactory(type="SIP", name="frank-desk", user=end_user)
    did = DidFactory(number="37060001234")
    page = signed_in_page(portal_admin, next_url=f"/dids/{did.pk}/")
    console_errors = watch_console(page)
    page.reload()
    assert status_of(page) == "Free"
    screenshot(page, "free")

    # Reserve for user: type the user's id (the picker's fallback) and press the button.
    # The user field is a name picker: type part of the name, choose the match.
    box = page.locator("#id_reserve-target_search")
    box.click()
    box.press_sequentially(end_user.username, delay=30)
    option = page.locator("#id_reserve-target_search_list li", has_text=end_user.username)
    option.wait_for()
    option.click()
    page.click("#action-reserve button.default")
    assert status_of(page) == "Reserved"
    assert message_of(page) == (
        f"DID 37060001234: “reserve for user” done for {end_user.display_name} "
        f"({end_user.username}). It is now Reserved."
    )

    # Assign device: the page suggests the devices of the DID's user.
    suggestion = page.locator("#action-assign_device button.did-suggestion")
    assert suggestion.all_inner_texts() == [f"SIP/frank-desk of Frank Enduser (#{device.pk})"]
    screenshot(page, "reserved")
    suggestion.click()
    assert status_of(page) == "Active"

    # Close: destructive, so a confirmation page comes first.
    page.click("#action-close button")
    assert page.locator("#confirm-question").inner_text() == (
        "Are you sure you want to close DID 37060001234? It is active now."
    )
    assert "Days for DID close at 30 days" in page.locator("#confirm-closing").inner_text()
    screenshot(page, "confirm-close")
    page.click("#confirm-yes")
    assert status_of(page) == "Closed"
    fields = dict(
        zip(
            page.locator("#did-fields dt").all_inner_texts(),
            page.locator("#did-fields dd").all_inner_texts(),
            strict=True,
        )
    )
    # The page shows dates readably in the viewer's time zone (the API keeps RFC 3339).
    assert re.fullmatch(
        r"\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d \S+", fields["Reserved for user till"]
    )
    note = page.locator("#did-closing-note").inner_text()
    assert "Days for DID close (30 days)" in note
    assert "then becomes free by itself" in note
    screenshot(page, "closed")

    # Make free, confirmed; the way back ("No, take me back") is there too.
    page.click("#action-make_free button")
    page.click("#confirm-yes")
    assert status_of(page) == "Free"
    assert history_actions(page) == ["make free", "close", "assign device", "reserve for user"]
    assert page.locator("#did-history tbody tr td:nth-child(3)").first.inner_text() == (
        "GUI from 127.0.0.1"
    )
    did.refresh_from_db()
    assert (did.status, did.user, did.device) == ("free", None, None)
    assert console_errors == []
    screenshot(page, "free-again")


def test_a_reseller_works_on_its_own_did(signed_in_page, screenshot, reseller, reseller_user):
    device = DeviceFactory(type="IAX2", name="erin-pbx", user=reseller_user)
    other = UserFactory(username="ella", first_name="Ella", last_name="Second", owner=reseller)
    did = DidFactory(number="37061005555", reseller=reseller, comment="operator's note")
    page = signed_in_page(reseller, next_url=f"/dids/{did.pk}/")
    console_errors = watch_console(page)
    page.reload()

    offered = page.locator("#did-actions form.did-action").evaluate_all(
        "forms => forms.map(f => f.id)"
    )
    assert offered == ["action-reserve", "action-assign_device", "action-assign_dial_plan"]
    # A reseller with few users gets them as buttons.
    users = page.locator("#action-reserve button.did-suggestion").all_inner_texts()
    assert sorted(users) == sorted(
        [f"Ella Second (ella) (#{other.pk})", f"Erin Customer (erin) (#{reseller_user.pk})"]
    )
    screenshot(page, "free")
    page.click(f"#action-reserve button.did-suggestion[value='{reseller_user.pk}']")
    assert status_of(page) == "Reserved"

    # A device of another user than the one it is reserved for: refused at the field.
    # The picker offers only what may be picked; a crafted id is refused by the server.
    page.locator("#id_assign_device-target").evaluate("el => { el.value = '999999'; }")
    page.click("#action-assign_device button.default")
    assert page.locator("#action-assign_device .errorlist").inner_text() == (
        "There is no device with ID 999999 that you may pick."
    )
    page.click(f"#action-assign_device button.did-suggestion[value='{device.pk}']")
    assert status_of(page) == "Active"

    # The edit form has the reseller's fields only.
    labels = page.locator("#did-edit label").all_inner_texts()
    assert [label.rstrip(":") for label in labels] == [
        "Language",
        "Call limit",
        "Tone zone",
        "CallerID name prefix",
        "Custom SIP header",
        "Reseller comment",
    ]
    page.fill("#id_edit-reseller_comment", "Erin's main line")
    page.select_option("#id_edit-tone_zone", "lt")
    page.fill("#id_edit-call_limit", "-1")
    page.click("#did-edit-save")
    assert page.locator(".field-call_limit .errorlist").inner_text() == (
        "Ensure this value is greater than or equal to 0."
    )
    assert page.locator("#id_edit-reseller_comment").input_value() == "Erin's main line"
    page.fill("#id_edit-call_limit", "2")
    page.click("#did-edit-save")
    assert message_of(page) == "DID 37061005555 saved: Call limit, Tone zone, Reseller comment."
    screenshot(page, "edited")

    page.click("#action-unassign_device button")
    page.click("#confirm-yes")
    assert status_of(page) == "Free"
    did.refresh_from_db()
    assert (did.status, did.reseller, did.user, did.device) == ("free", reseller, None, None)
    assert (did.reseller_comment, did.tone_zone, did.call_limit, did.comment) == (
        "Erin's main line",
        "lt",
        2,
        "operator's note",
    )
    assert console_errors == []
    assert User.objects.get(pk=reseller.pk).is_reseller
    assert Did.objects.get(pk=did.pk).history.count() == 4
