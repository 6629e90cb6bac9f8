"""The main administration flow in a real browser (the system Chromium, via Playwright).

An admin signs in, creates a reseller, sets the system's and the reseller's API
settings; the reseller signs in, reads its hash from Generate hash, and dids_get
accepts it.
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

from accounts.models import ApiSettings
from dids.api.testing import rows_of
from portal.testing.factories import DidFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
RESELLER_PASSWORD = "Quiet-Lantern-2026"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def admin_page(live_server):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15000)
        problems: list[str] = []
        # A Content-Security-Policy violation is reported on the console ("Refused to …").
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if "Content Security Policy" in message.text or "Refused to" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        yield page, problems
        context.close()
        browser.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/dids/"))


def test_admin_sets_up_a_reseller_whose_integration_calls_dids_get(
    admin_page, portal_admin, client
):
    page, problems = admin_page
    sign_in(page, "alice", "correct-horse-battery")

    # 1. Create the reseller.
    page.click("#portal-nav >> text=Accounts")
    page.click("text=Add account")
    page.fill("#id_username", "gina")
    page.fill("#id_first_name", "Gina")
    page.fill("#id_last_name", "Gateway")
    page.select_option("#id_role", "reseller")
    page.fill("#id_password", RESELLER_PASSWORD)
    page.fill("#id_password_confirm", RESELLER_PASSWORD)
    page.screenshot(path=SCREENSHOTS / "admin-add-reseller.png", full_page=True)
    page.click("input[type=submit][value=Save]")
    assert page.locator("ul.messagelist").inner_text() == "The account gina was created."

    # 2. System API settings: Allow API needs a secret first.
    page.click("#portal-nav >> text=API settings")
    page.check("#id_allow_api")
    page.click("input[type=submit][value=Save]")
    assert "Allow API cannot be switched on without an API Secret Key." in page.inner_text(
        ".field-allow_api"
    )
    page.check("#id_allow_api")
    page.check("#id_generate_secret")
    page.click("input[type=submit][value=Save]")
    system_secret = page.input_value("#new-secret")
    assert system_secret == ApiSettings.objects.system().api_secret_key
    page.screenshot(path=SCREENSHOTS / "admin-system-secret-shown-once.png", full_page=True)
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
    page.screenshot(path=SCREENSHOTS / "admin-audit-log.png", full_page=True)
    page.click("#portal-nav >> text=Accounts")
    page.screenshot(path=SCREENSHOTS / "admin-accounts.png", full_page=True)

    # 4. The reseller signs in and reads its hash.
    page.click("#logout-form button")
    sign_in(page, "gina", RESELLER_PASSWORD)
    page.click("#portal-nav >> text=Generate hash")
    page.fill("#id_request", "https://portal.example.com/billing/api/dids_get?u=gina")
    page.click("input[type=submit][value='Generate hash']")
    shown_hash = page.inner_text("#hash-value")
    request_with_hash = page.inner_text("#request-with-hash")
    page.screenshot(path=SCREENSHOTS / "reseller-hash-tool.png", full_page=True)
    assert "ginas-own-secret-key" not in page.content()

    # 5. The reseller's integration calls dids_get with it.
    from accounts.models import User

    gina = User.objects.get(username="gina")
    did = DidFactory(number="37069990001", reseller=gina)
    response = client.post("/billing/api/dids_get", {"u": "gina", "hash": shown_hash})
    assert [dict(row)["did"] for row in rows_of(response)] == [did.number]
    response = client.post("/billing/api/dids_get?" + request_with_hash)
    assert [dict(row)["did"] for row in rows_of(response)] == [did.number]

    assert problems == []
    # The policy is really enforced: an inline script is refused (and would be reported).
    with contextlib.suppress(Exception):
        page.add_script_tag(content="window.inlineRan = true;")
    assert page.evaluate("window.inlineRan === undefined")
    assert any("Content Security Policy" in problem for problem in problems)
