"""Parallel attempts against the sign-in lockout and the API's throttle, for the race
tests (accounts/tests/test_lockout_races.py).

The slow check each attempt guards (the password check of the sign-in; the account
lookup of dids_get's check 1) is replaced by one that counts its calls and takes a
while, so that attempts overlap; nothing touches the database. Run as a program,
it makes the attempts in threads of its own process and prints how many were
checked, so that two processes sharing Redis can be raced:

    python -m portal.testing.races login|api START_AT THREADS
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

USERNAME = "alice"
CHECK_SECONDS = 0.05


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.calls += 1
        time.sleep(CHECK_SECONDS)


@contextmanager
def counted_sign_in_checks() -> Iterator[Counter]:
    """Every password check counts and fails."""
    import django.contrib.auth.forms as auth_forms

    counter = Counter()
    original = auth_forms.authenticate

    def authenticate(*args: Any, **kwargs: Any) -> None:
        counter.count()

    auth_forms.authenticate = authenticate
    try:
        yield counter
    finally:
        auth_forms.authenticate = original


@contextmanager
def counted_api_checks() -> Iterator[Counter]:
    """Every account lookup of check 1 counts and finds nobody (Access Denied); no
    address is a known client."""
    import accounts.authentication as authentication

    counter = Counter()

    def account_named(username: str) -> None:
        counter.count()
        return None

    originals = authentication.account_named, authentication.is_known_client
    authentication.account_named = account_named  # type: ignore[assignment]
    authentication.is_known_client = lambda username, address: False
    try:
        yield counter
    finally:
        authentication.account_named, authentication.is_known_client = originals


def sign_in_attempt(address: str) -> None:
    from django.test import RequestFactory

    from accounts.forms import PortalAuthenticationForm

    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    form = PortalAuthenticationForm(request, data={"username": USERNAME, "password": "guess"})
    form.is_valid()


def api_attempt(address: str) -> None:
    from django.test import RequestFactory
    from rest_framework.exceptions import APIException
    from rest_framework.parsers import FormParser
    from rest_framework.request import Request

    from accounts.authentication import ApiHashAuthentication

    django_request = RequestFactory().post(
        "/billing/api/dids_get",
        f"u={USERNAME}&hash=wrong",
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=address,
    )
    request = Request(django_request, parsers=[FormParser()])
    with suppress(APIException):
        ApiHashAuthentication().authenticate(request)


def race(attempt: Callable[[str], None], threads: int, address: Callable[[int], str]) -> None:
    """`threads` attempts released at the same moment; returns when all are done."""
    start = threading.Barrier(threads)

    def run(index: int) -> None:
        start.wait()
        attempt(address(index))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main(argv: list[str]) -> None:
    import django

    kind, start_at, threads = argv[0], float(argv[1]), int(argv[2])
    django.setup()
    checks = counted_sign_in_checks if kind == "login" else counted_api_checks
    attempt = sign_in_attempt if kind == "login" else api_attempt
    with checks() as counter:
        time.sleep(max(0.0, start_at - time.time()))
        # One username from many addresses: only the username's counter can hold them.
        race(attempt, threads, lambda i: f"198.51.100.{i % 250}")
    print(counter.calls)


if __name__ == "__main__":
    main(sys.argv[1:])
