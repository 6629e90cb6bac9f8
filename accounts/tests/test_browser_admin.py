"""The main administration flow in a real browser (the system Chromium, via Playwright).

An admin signs in, creates a reseller, sets the system's and the reseller's API
settings; the reseller signs in, reads its hash from Generate hash, and dids_get
accepts it.
"""

import contextlib

import pytest

from accounts import services
from accounts.models import ApiSettings, User
from dids.api.testing import rows_of
from portal.testing.factories import DidFactory

pytestmark = pytest.mark.browser

RESELLER_PASSWORD = "Quiet-Lantern-2026"


def watch_for_policy_violations(page) -> list[str]:
    """A Content-Security-Policy violation is reported on the console ("Refused to …")."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_admin_sets_up_a_reseller_whose_integration_calls_dids_get(
    signed_in_page, screenshot, portal_admin, client
):
    page = signed_in_page(portal_admin)
    problems = watch_for_policy_violations(page)

    # 1. Create the reseller.
    page.click("#portal-nav >> text=Accounts")
    page.click("text=Add account")
    page.fill("#id_username", "gina")
    page.fill("#id_first_name", "Gina")
    page.fill("#id_last_name", "Gateway")
    page.select_option("#id_role", "reseller")
    page.fill("#id_password", RESELLER_PASSWORD)
    page.fill("#id_password_confirm", RESELLER_PASSWORD)
    screenshot(page, "admin-add-reseller")
    page.click("input[type=submit][value=Save]")
    assert page.locator("ul.messagelist").inner_text() == "The account gina was created."

    # 2. System API settings: Allow API needs a secret first.
    page.click("#portal-nav >> text=API settings")
    page.check("#id_allow_api")
    page.click("input[type=submit][value=Save]")
    assert "Allow API cannot be switched on without an API Secret Key." in page.inner_text(
        ".field-allow_api"
    )
    screenshot(page, "admin-system-api-settings-refused")
    page.check("#id_allow_api")
    page.check("#id_generate_secret")
    page.click("input[type=submit][value=Save]")
    system_secret = page.input_value("#new-secret")
    assert system_secret == ApiSettings.objects.system().api_secret_key
    screenshot(page, "admin-system-secret-shown-once")
    page.click("text=Back to the API settings")
    assert system_secret not in page.content()
    assert "(set)" in page.inner_text("#masked-secret")

    # 3. The reseller's API settings, from its account page.
    page.click("#portal-nav >> text=Accounts")
    page.click("#result_list >> text=gina")
    page.click(".object-tools >> text=API settings")
    page.check("#id_allow_api")
    page.fill("#id_new_secret", "ginas-own-secret-key")
    page.click("input[type=submit][value=Save]")
    assert page.input_value("#new-secret") == "ginas-own-secret-key"

    # Every change so far is in the audit log, the secrets only as "secret set".
    page.click("#portal-nav >> text=Audit log")
    log = page.inner_text("#result_list")
    assert "API Secret Key: secret set" in log
    assert "Role: — → Reseller" in log
    assert "ginas-own-secret-key" not in page.content()
    screenshot(page, "admin-audit-log")
    page.click("#portal-nav >> text=Accounts")
    screenshot(page, "admin-accounts")

    # 4. The reseller signs in and reads its hash.
    page.click("#logout-form button")
    page.wait_for_url("**/login/")
    admin_problems = problems
    gina = User.objects.get(username="gina")
    page = signed_in_page(gina, RESELLER_PASSWORD)
    problems = watch_for_policy_violations(page)
    page.click("#portal-nav >> text=Generate hash")
    page.fill("#id_request", "https://portal.example.com/billing/api/dids_get?u=gina")
    page.click("input[type=submit][value='Generate hash']")
    shown_hash = page.inner_text("#hash-value")
    request_with_hash = page.inner_text("#request-with-hash")
    screenshot(page, "reseller-hash-tool")
    assert "ginas-own-secret-key" not in page.content()

    # 5. The reseller's integration calls dids_get with it.
    did = DidFactory(number="37069990001", reseller=gina)
    response = client.post("/billing/api/dids_get", {"u": "gina", "hash": shown_hash})
    assert [dict(row)["did"] for row in rows_of(response)] == [did.number]
    # The pasted URL comes back whole, with the hash: the integrator sends it as shown.
    assert request_with_hash == (
        f"https://portal.example.com/billing/api/dids_get?u=gina&hash={shown_hash}"
    )
    response = client.post(request_with_hash.removeprefix("https://portal.example.com"))
    assert [dict(row)["did"] for row in rows_of(response)] == [did.number]

    assert admin_problems == []
    assert problems == []
    # The policy is really enforced: an inline script is refused (and would be reported).
    with contextlib.suppress(Exception):
        page.add_script_tag(content="window.inlineRan = true;")
    assert page.evaluate("window.inlineRan === undefined")
    assert any("Content Security Policy" in problem for problem in problems)


def test_django_admin_works_under_the_content_security_policy(
    signed_in_page, screenshot, portal_admin, reseller
):
    portal_admin.is_staff = True
    portal_admin.is_superuser = True
    portal_admin.save()
    page = signed_in_page(portal_admin)
    problems = watch_for_policy_violations(page)
    for url in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{reseller.pk}/change/",
        "/admin/accounts/apisettings/add/",
        "/admin/accounts/auditentry/",
    ):
        page.goto(url)
        assert page.locator("#site-name").count() == 1, url
    # The admin's own JavaScript ran: the nav sidebar's toggle is wired up.
    page.goto("/admin/accounts/user/")
    before = page.get_attribute("#main", "class")
    page.click("#toggle-nav-sidebar")
    assert page.get_attribute("#main", "class") != before
    screenshot(page, "django-admin-users")
    assert problems == []


# The x of the first character of each header and of the first non-empty cell below it.
HEADER_AND_CELL_TEXT_X = """
(table) => {
  const textX = (element) => {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      if (!walker.currentNode.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(walker.currentNode);
      return range.getClientRects()[0].left;
    }
    return null;
  };
  const rows = [...table.querySelectorAll("tbody tr")];
  const firstCellX = (i) => rows.map((row) => textX(row.children[i])).find((x) => x !== null);
  return [...table.querySelectorAll("thead th")].map((th, i) => [
    th.innerText.trim(), textX(th), firstCellX(i) ?? null,
  ]);
}
"""


def test_list_headers_line_up_with_their_columns(
    signed_in_page, screenshot, portal_admin, accountant, dids_get_group
):
    """The admin's changelist CSS pads a header's `.text span`, not the th: a bare
    header sits 8px left of its column (the admin itself is 2px off)."""
    services.system_settings_update(by=portal_admin, days_for_did_close=30)  # one audit row
    page = signed_in_page(portal_admin)
    for url in ("/accounts/", "/accountant-groups/", "/api-groups/", "/audit-log/"):
        page.goto(url)
        columns = page.locator("#result_list").evaluate(HEADER_AND_CELL_TEXT_X)
        assert columns, url
        for header, header_x, cell_x in columns:
            assert cell_x is not None, (url, header)
            assert abs(header_x - cell_x) <= 2, (url, header, columns)
    screenshot(page, "audit-log")
