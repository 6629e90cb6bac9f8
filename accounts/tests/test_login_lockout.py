"""Sign-in protection against guessing: lockout per username and per address."""

import logging
import time

import pytest
from django.urls import reverse

from accounts import services

PASSWORD = "correct-horse-battery"  # the factories' password
LOCKED = "Too many failed sign-in attempts. Try again in 1 minute."


@pytest.fixture
def clock(monkeypatch):
    """The clock, moved by hand: the counters' windows (their expiry in the local-memory
    cache) and the time left that the lockout shows both read time.time()."""
    now = {"t": time.time()}
    monkeypatch.setattr(time, "time", lambda: now["t"])
    return now


@pytest.fixture
def small_window(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 60


def sign_in(client, username: str, password: str, address: str = "192.0.2.10"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def non_field_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_correct_password_signs_in(client, reseller):
    response = sign_in(client, "charlie", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(reseller.pk)


def test_repeated_failures_lock_the_username(client, reseller, small_window, clock, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.security")
    for _ in range(3):
        response = sign_in(client, "charlie", "wrong-guess")
        assert non_field_errors(response) == [
            "Please enter a correct username and password. Note that both fields may be "
            "case-sensitive."
        ]
    # Locked: even the correct password is refused, without being checked.
    response = sign_in(client, "charlie", PASSWORD, address="198.51.100.7")
    assert non_field_errors(response) == [LOCKED]
    assert "_auth_user_id" not in client.session
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("Sign-in failed for username 'charlie' from 192.0.2.10") == 3
    assert "Sign-in locked for username 'charlie' after 3 failures (for 60 seconds)" in messages
    assert "Sign-in locked for address 192.0.2.10 after 3 failures (for 60 seconds)" in messages
    assert "Sign-in refused while locked for username 'charlie' from 198.51.100.7" in messages
    for message in messages:
        assert "wrong-guess" not in message
        assert PASSWORD not in message


def test_the_lockout_ends_after_the_window(client, reseller, small_window, clock):
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess")
    clock["t"] += 59
    assert non_field_errors(sign_in(client, "charlie", PASSWORD)) == [LOCKED]
    clock["t"] += 2
    response = sign_in(client, "charlie", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(reseller.pk)


def test_the_password_is_not_checked_while_locked(
    client, reseller, small_window, clock, monkeypatch
):
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess")
    calls = []
    import django.contrib.auth.forms as auth_forms

    monkeypatch.setattr(auth_forms, "authenticate", lambda *a, **k: calls.append(1))
    sign_in(client, "charlie", PASSWORD)
    assert calls == []


def test_failures_from_one_address_lock_every_username(
    client, reseller, other_reseller, small_window, clock
):
    for name in ("nobody", "someone", "anyone"):
        sign_in(client, name, "guess")
    assert non_field_errors(sign_in(client, "dave", PASSWORD)) == [LOCKED]
    # Another address is not locked for dave.
    assert sign_in(client, "dave", PASSWORD, address="203.0.113.5").status_code == 302


def test_failures_for_one_username_lock_it_from_every_address(
    client, reseller, small_window, clock
):
    for i in range(3):
        sign_in(client, "charlie", "guess", address=f"203.0.113.{i}")
    assert non_field_errors(sign_in(client, "charlie", PASSWORD, address="203.0.113.99")) == [
        LOCKED
    ]


def test_unknown_usernames_are_counted_like_known_ones(client, db, small_window, clock):
    for i in range(3):
        sign_in(client, "ghost", "guess", address=f"203.0.113.{i}")
    response = sign_in(client, "ghost", "guess", address="203.0.113.50")
    assert non_field_errors(response) == [LOCKED]


def test_a_success_clears_the_usernames_failures(client, reseller, small_window, clock):
    sign_in(client, "charlie", "guess", address="203.0.113.1")
    sign_in(client, "charlie", "guess", address="203.0.113.2")
    sign_in(client, "charlie", PASSWORD, address="203.0.113.3")
    client.logout()
    sign_in(client, "charlie", "guess", address="203.0.113.4")
    assert sign_in(client, "charlie", PASSWORD, address="203.0.113.5").status_code == 302


def test_failures_outside_the_window_start_a_new_count(client, reseller, small_window, clock):
    sign_in(client, "charlie", "guess")
    sign_in(client, "charlie", "guess")
    clock["t"] += 61
    sign_in(client, "charlie", "guess")
    assert sign_in(client, "charlie", PASSWORD).status_code == 302


def test_a_limit_of_zero_turns_the_lockout_off(client, reseller, settings, clock):
    settings.LOGIN_FAILURE_LIMIT = 0
    for _ in range(10):
        sign_in(client, "charlie", "guess")
    assert sign_in(client, "charlie", PASSWORD).status_code == 302


def test_default_limit_is_five_in_fifteen_minutes(client, reseller, clock):
    for _ in range(5):
        sign_in(client, "charlie", "guess")
    assert non_field_errors(sign_in(client, "charlie", PASSWORD)) == [
        "Too many failed sign-in attempts. Try again in 15 minutes."
    ]


def test_sign_in_form_enforces_csrf(reseller):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "charlie", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_the_django_admin_sign_in_shares_the_lockout(client, portal_admin, small_window, clock):
    portal_admin.is_staff = True
    portal_admin.save()
    for _ in range(3):
        client.post("/admin/login/", {"username": "alice", "password": "guess"})
    response = client.post(
        "/admin/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"}
    )
    assert list(response.context["form"].non_field_errors()) == [LOCKED]
    assert "_auth_user_id" not in client.session
    # The portal's sign-in is locked for alice too.
    assert non_field_errors(sign_in(client, "alice", PASSWORD)) == [LOCKED]


# --- Device cookies: a lockout cannot be turned against the account's own people -----------

BROWSER = "192.0.2.50"  # where charlie signs in from
ATTACKER = "203.0.113.66"
DEVICE_COOKIE = services.DEVICE_COOKIE_NAME


def browser_that_signed_in(username: str, address: str = BROWSER):
    """A browser that signed in once and signed out again: it keeps its device cookie."""
    from django.test import Client

    browser = Client()
    assert sign_in(browser, username, PASSWORD, address=address).status_code == 302
    browser.post(reverse("logout"))
    assert "_auth_user_id" not in browser.session
    return browser


def test_a_sign_in_gives_the_browser_a_signed_httponly_device_cookie(client, reseller):
    response = sign_in(client, "charlie", PASSWORD)
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 30 * 24 * 60 * 60
    assert cookie["path"] == "/"
    assert services.device_cookie_nonce(cookie.value, username="charlie")
    assert services.device_cookie_nonce(cookie.value, username="alice") is None
    # Nothing in it reveals more than the username; it cannot be forged without the key.
    assert services.device_cookie_nonce(cookie.value[:-2] + "xx", username="charlie") is None


def test_a_failed_sign_in_gives_no_device_cookie(client, reseller):
    response = sign_in(client, "charlie", "wrong-guess")
    assert DEVICE_COOKIE not in response.cookies


def test_a_browser_with_its_device_cookie_signs_in_while_the_account_is_locked(
    client, reseller, small_window, clock
):
    browser = browser_that_signed_in("charlie")
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess", address=ATTACKER)
    # Any browser without charlie's device cookie is locked out, from anywhere ...
    assert non_field_errors(sign_in(client, "charlie", PASSWORD, address=BROWSER)) == [LOCKED]
    # ... but charlie's own browser signs in,
    response = sign_in(browser, "charlie", PASSWORD, address=BROWSER)
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(reseller.pk)
    # and the attacker's address stays locked, whatever it tries.
    assert non_field_errors(sign_in(client, "dave", PASSWORD, address=ATTACKER)) == [LOCKED]


def test_a_device_cookie_is_limited_on_its_own(client, reseller, small_window, clock, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.security")
    browser = browser_that_signed_in("charlie")
    for i in range(3):
        sign_in(browser, "charlie", "wrong-guess", address=f"192.0.2.{60 + i}")
    # That cookie is locked now, even with the right password ...
    assert non_field_errors(sign_in(browser, "charlie", PASSWORD, address="192.0.2.70")) == [LOCKED]
    # ... while charlie's other browsers, and the account itself, are not.
    other = browser_that_signed_in("charlie", address="192.0.2.80")
    assert sign_in(other, "charlie", PASSWORD, address="192.0.2.80").status_code == 302
    assert sign_in(client, "charlie", PASSWORD, address="192.0.2.81").status_code == 302
    messages = [r.getMessage() for r in caplog.records]
    assert "Sign-in failed for username 'charlie' from 192.0.2.60 with its device cookie" in (
        messages
    )
    assert (
        "Sign-in locked for the device cookie of 'charlie' after 3 failures (for 60 seconds)"
        in messages
    )


def test_the_window_of_a_device_cookie_ends_too(client, reseller, small_window, clock):
    browser = browser_that_signed_in("charlie")
    for _ in range(3):
        sign_in(browser, "charlie", "wrong-guess")
    clock["t"] += 61
    assert sign_in(browser, "charlie", PASSWORD).status_code == 302


def test_a_device_cookie_of_another_account_does_not_help(
    client, reseller, portal_admin, small_window, clock
):
    browser = browser_that_signed_in("alice")
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess", address=ATTACKER)
    assert non_field_errors(sign_in(browser, "charlie", PASSWORD)) == [LOCKED]


def test_a_forged_or_expired_device_cookie_does_not_help(client, reseller, small_window, clock):
    from django.core import signing

    browser = browser_that_signed_in("charlie")
    genuine = browser.cookies[DEVICE_COOKIE].value
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess", address=ATTACKER)
    forged = signing.dumps({"u": "charlie", "n": "x"}, salt="another-salt")
    browser.cookies[DEVICE_COOKIE] = forged
    assert non_field_errors(sign_in(browser, "charlie", PASSWORD)) == [LOCKED]
    browser.cookies[DEVICE_COOKIE] = genuine
    clock["t"] += 30 * 24 * 60 * 60 + 1  # the cookie has expired; the lock has too
    for _ in range(3):
        sign_in(client, "charlie", "wrong-guess", address=ATTACKER)
    assert non_field_errors(sign_in(browser, "charlie", PASSWORD)) == [LOCKED]


def test_the_django_admin_sign_in_gives_a_device_cookie_too(client, portal_admin):
    portal_admin.is_staff = True
    portal_admin.save()
    response = client.post(
        "/admin/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert services.device_cookie_nonce(response.cookies[DEVICE_COOKIE].value, username="alice")
