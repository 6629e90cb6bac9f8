"""Playwright fixtures for browser tests, registered from the root conftest.py.

pytest-playwright provides `browser` (one per session), `context` and `page`; this
module points it at the system Chromium (`playwright install` is not available
here) and adds what portal tests need:

- `signed_in_page(account) -> Page`: a fresh browser context signed in as the
  account through the real sign-in form of pytest-django's `live_server`, on the
  DIDs list (or `next_url`);
- `screenshot(page, name)`: saves `test-artifacts/screenshots/<test>-<name>.png`.

Mark browser tests with `@pytest.mark.browser`. Using `live_server` makes the test
transactional (pytest-django's rule), so data created in the test is visible to
the server thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.models import User

# Playwright's sync API runs an event loop in the test's thread; Django refuses ORM
# calls from a thread with a running loop unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
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
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# The password that portal.testing.factories.UserFactory gives every account.
PASSWORD = "correct-horse-battery"
# Fail fast: a page of this portal that takes longer is a failure, not a slow pass.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, with the system Chromium and its flags.

    Without /usr/bin/chromium the browser tests are skipped with the reason (`./run
    test` installs it where it can); CI sets PORTAL_REQUIRE_BROWSER=1 to make that a
    failure instead, so a missing browser can never pass CI silently.
    """
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's 'chromium' package"
        if os.environ.get("PORTAL_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "accept_downloads": True, "locale": "en-US"}


@pytest.fixture
def signed_in_page(new_context, live_server) -> Callable[..., Any]:
    """Sign `account` in through the sign-in form, in its own browser context.

    Returns the page, on `next_url`: the DIDs list unless told otherwise (most tests
    start there); `next_url=""` is where signing in itself leads, the home page.
    """

    def sign_in(account: User, password: str = PASSWORD, next_url: str = "/dids/") -> Any:
        context = new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"/login/{'?next=' + next_url if next_url else ''}")
        page.fill("#id_username", account.username)
        page.fill("#id_password", password)
        page.click("#login-form input[type=submit]")
        page.wait_for_load_state()
        if "/login/" in page.url:
            raise AssertionError(f"signing in as {account.username} failed: {page.url}")
        return page

    return sign_in


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """`screenshot(page, "name")` saves a full-page PNG named after the test."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
