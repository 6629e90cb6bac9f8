"""What a person does with the DIDs list in a real browser (system Chromium via Playwright):
sign in as each role, filter, sort, page, export CSV, Hide terminated DIDs remembered
across sign-ins, errors on the panel, the 403 page."""

from __future__ import annotations

import csv
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import User
from dids.models import Did
from portal.testing.factories import DidFactory

pytestmark = pytest.mark.browser


def listed_numbers(page) -> list[str]:
    return page.locator("#result_list tbody td.col-did a").all_inner_texts()


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.fixture
def catalogue(reseller, reseller_user, end_user):
    """25 DIDs: terminated ones every fifth, some held by the reseller and its user."""
    dids = []
    for n in range(25):
        dids.append(
            DidFactory(
                number=f"370600000{n:02d}",
                status=Did.Status.TERMINATED if n % 5 == 4 else Did.Status.FREE,
                reseller=reseller if n < 6 else None,
                user=reseller_user if n in (1, 2) else (end_user if n in (10, 11) else None),
                comment=f"note {n}",
            )
        )
    return dids


@pytest.mark.parametrize(
    ("persona", "title", "expected_rows", "hidden_header"),
    [
        ("portal_admin", "DIDs", 25, None),
        ("accountant", "DIDs", 25, None),
        ("reseller", "DIDs", 6, "Provider"),
        ("reseller_user", "Personal DIDs", 2, "Dial plan"),
        ("end_user", "Personal DIDs", 2, "Tone zone"),
    ],
)
def test_each_role_signs_in_to_its_list(
    request, signed_in_page, screenshot, catalogue, persona, title, expected_rows, hidden_header
):
    account: User = request.getfixturevalue(persona)

    page = signed_in_page(account)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.reload()

    assert urlsplit(page.url).path == "/dids/"
    assert page.locator("h1").inner_text() == title
    assert page.locator("#portal-nav a.active").inner_text() == title
    assert len(listed_numbers(page)) == expected_rows
    assert page.locator("#did-paginator .did-count").inner_text() == f"{expected_rows} DIDs"
    headers = page.locator("#result_list thead th").all_inner_texts()
    if hidden_header:
        assert hidden_header not in [h.strip() for h in headers]
    # Nothing blocked by the Content-Security-Policy, no script errors.
    assert console_errors == []
    screenshot(page, "list")


def test_filter_sort_page_and_export(signed_in_page, screenshot, portal_admin, catalogue):
    portal_admin.items_per_page = 10
    portal_admin.save()
    page = signed_in_page(portal_admin)

    # Filter: DIDs whose number contains "3706000001" (10..19), terminated ones hidden.
    page.fill("#id_search_did_number", "3706000001")
    page.check("#id_search_hide_terminated_dids")
    page.click("#did-filter-form input[type=submit]")
    page.wait_for_load_state()
    assert query_of(page) == {
        "search_did_number": ["3706000001"],
        "search_hide_terminated_dids": ["1"],
    }
    expected = [f"370600000{n}" for n in range(10, 20) if n % 5 != 4]
    assert listed_numbers(page) == expected
    screenshot(page, "filtered")

    # Sort by DID, twice: ascending then descending; the filters stay.
    page.click("#result_list thead th >> text=DID")
    page.wait_for_load_state()
    assert listed_numbers(page) == expected
    page.click("#result_list thead th >> text=DID")
    page.wait_for_load_state()
    assert listed_numbers(page) == list(reversed(expected))
    assert query_of(page)["sort"] == ["-did"]
    assert query_of(page)["search_did_number"] == ["3706000001"]
    screenshot(page, "sorted")

    # Page: the whole list of 20 non-terminated DIDs, 10 per page.
    page.goto("/dids/?search_hide_terminated_dids=1")
    page.click("#did-paginator >> text=2")
    page.wait_for_load_state()
    all_shown = [d.number for d in catalogue if d.status != Did.Status.TERMINATED]
    assert listed_numbers(page) == all_shown[10:20]
    screenshot(page, "page-2")

    # Export: every matching DID (not just the page), read back from the download.
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert re.fullmatch(r"dids-\d{8}-\d{6}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.reader(exported))
    assert rows[0][:2] == ["did", "provider"]
    assert [row[0] for row in rows[1:]] == all_shown


def test_hide_terminated_is_still_ticked_after_signing_out_and_in(
    signed_in_page, screenshot, portal_admin, catalogue
):
    page = signed_in_page(portal_admin)
    assert not page.is_checked("#id_search_hide_terminated_dids")
    assert len(listed_numbers(page)) == 25

    page.check("#id_search_hide_terminated_dids")
    page.click("#did-filter-form input[type=submit]")
    page.wait_for_load_state()
    assert len(listed_numbers(page)) == 20
    page.click("#logout-form button")
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/login/"
    screenshot(page, "signed-out")

    again = signed_in_page(portal_admin)

    assert again.is_checked("#id_search_hide_terminated_dids")
    assert len(listed_numbers(again)) == 20
    assert "Terminated" not in again.locator("#result_list").inner_text()
    screenshot(again, "remembered")


def test_a_malformed_filter_shows_on_the_panel(signed_in_page, screenshot, portal_admin, catalogue):
    page = signed_in_page(portal_admin)

    # (An id field is a name picker, which never sends a malformed id: From is plain text.)
    page.fill("#id_from", "abc")
    page.click("#did-filter-form input[type=submit]")
    page.wait_for_load_state()

    assert page.locator("#filter-errors li").all_inner_texts() == [
        "Invalid from: expected a whole number of at least 1"
    ]
    assert (
        page.locator("#did-filter-form .errorlist").inner_text()
        == "expected a whole number of at least 1"
    )
    # On the panel's own background and flush under its field, not in a padded box.
    style = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.padding]; }"
    errors = page.locator("#did-filter-form .errorlist")
    assert errors.evaluate(style) == ["rgba(0, 0, 0, 0)", "0px"]
    assert listed_numbers(page) == []
    assert page.locator("#result_list tbody").inner_text().strip() == "No DIDs found"
    screenshot(page, "error")


def test_the_page_size_is_saved(signed_in_page, portal_admin, catalogue):
    page = signed_in_page(portal_admin)

    page.select_option("#id_items_per_page", "10")
    page.click("#page-size-form button")
    page.wait_for_load_state()

    assert len(listed_numbers(page)) == 10
    assert "Showing 10 DIDs per page." in page.locator(".messagelist").inner_text()
    portal_admin.refresh_from_db()
    assert portal_admin.items_per_page == 10


def test_a_row_opens_the_dids_page(signed_in_page, screenshot, reseller, catalogue):
    page = signed_in_page(reseller)

    page.click("#result_list >> text=37060000001")
    page.wait_for_load_state()

    assert urlsplit(page.url).path == f"/dids/{catalogue[1].id}/"
    assert page.locator("#did-status").inner_text() == "Free"
    assert "Provider" not in page.locator("#did-fields").inner_text()
    # Each label sits on the line of its value (base.css pushes a bare dt 4px down).
    for row in page.locator("#did-fields .form-row").all():
        label, value = row.locator("dt").bounding_box(), row.locator("dd").bounding_box()
        assert abs(label["y"] - value["y"]) <= 1, row.inner_text()
    screenshot(page, "detail")


def test_accountant_without_manage_dids_sees_the_not_authorised_page(
    signed_in_page, screenshot, accountant_without_right, catalogue
):
    page = signed_in_page(accountant_without_right)

    assert page.locator("#not-authorised").inner_text() == "You are not authorized to manage DIDs."
    nav = page.locator("#portal-nav a").all_inner_texts()
    assert "DIDs" not in nav
    assert "Personal DIDs" not in nav
    screenshot(page, "not-authorised")


def test_signing_in_and_browsing_requests_nothing_that_fails(
    new_context, live_server, portal_admin, catalogue
):
    """Every request a page makes succeeds, and the pages declare their icon: without
    one a browser asks for /favicon.ico by itself (Playwright does not report that
    request), a 404 in every server log and a console error on every first visit."""
    context = new_context(base_url=live_server.url)
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/login/")
    assert page.request.get(page.locator("link[rel=icon]").get_attribute("href")).status == 200
    page.fill("#id_username", portal_admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("#login-form input[type=submit]")
    page.wait_for_url(f"{live_server.url}/")  # signing in leads to the home page
    page.goto(f"/dids/{catalogue[0].id}/")

    assert failed == []
    assert page.locator("link[rel=icon]").count() == 1


@pytest.mark.parametrize("persona", ["portal_admin", "end_user"])
def test_the_menu_has_its_own_row_whatever_its_length(request, signed_in_page, persona):
    """A short menu (an end user's two entries) must not float beside the branding."""
    page = signed_in_page(request.getfixturevalue(persona))
    branding = page.locator("#site-name").bounding_box()
    menu = page.locator("#portal-nav").bounding_box()
    tools = page.locator("#user-tools").bounding_box()
    width = page.viewport_size["width"]

    assert menu["y"] >= branding["y"] + branding["height"] - 1
    assert abs(menu["x"] - branding["x"]) < 2
    assert tools["x"] + tools["width"] > width * 0.8  # the user tools stay on the right
