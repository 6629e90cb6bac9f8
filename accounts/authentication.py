"""The MOR API's `u`/`hash` authentication, with throttling of failed attempts.

`ApiHashAuthentication` runs the contract's checks 1 to 5 (dids_get.md §3) in
order: the account (`u`), *Allow API* along the settings chain, *Allow GET
API*, a secret key to check against, the hash. Checks 1, 4 and 5 are failed
authentications: they are counted per client address and per `u` (§7), and
once either count reaches the limit the caller gets HTTP 429 without the hash
being evaluated. The hash itself is built only by `accounts.api_hash`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import QueryDict
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from portal.text import is_valid_text

from .api_hash import hash_is_valid, settings_chain
from .models import User

logger = logging.getLogger(__name__)

ACCESS_DENIED = "Access Denied"
API_DISABLED = "API Requests are disabled"
GET_DISABLED = "GET Requests are disabled"
NO_SECRET = "API must have Secret Key"  # noqa: S105 (an error text, not a secret)
INCORRECT_HASH = "Incorrect hash"
TOO_MANY_FAILURES = "Too many failed attempts"


class Malformed:
    """Stands for a parameter value that is not text (e.g. a JSON `true`, a list,
    an uploaded file): every check and filter treats it as malformed."""

    _instance: Malformed | None = None

    def __new__(cls) -> Malformed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<malformed>"


MALFORMED = Malformed()


class ApiRefusal(exceptions.APIException):
    """A contract error (§3): answered with HTTP 200 and `<page><error>TEXT</error></page>`."""

    status_code = 200

    def __init__(self, text: str) -> None:
        super().__init__(detail=text)
        self.text = text


class ApiAuthenticationFailed(exceptions.AuthenticationFailed):
    """A failed authentication (checks 1, 4, 5): answered like ApiRefusal, and counted."""

    def __init__(self, text: str) -> None:
        super().__init__(detail=text)
        self.text = text


class TooManyFailedAttempts(exceptions.Throttled):
    """§7: HTTP 429 with a Retry-After header."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait=wait, detail=TOO_MANY_FAILURES)
        self.text = TOO_MANY_FAILURES


# --- Parameters -------------------------------------------------------------


def _clean_text(value: str) -> str | Malformed:
    """Text that no database can store (NUL, lone surrogates from JSON) is malformed,
    so that it becomes a clear `Invalid …` error instead of a database error."""
    return value if is_valid_text(value) else MALFORMED


def _source_values(source: Any) -> dict[str, object]:
    """One source's parameters: the last value of a repeated name; empty ones dropped."""
    values: dict[str, object] = {}
    if isinstance(source, QueryDict):
        items = ((key, source.get(key)) for key in source)
    elif isinstance(source, Mapping):
        items = source.items()
    else:
        return values
    for key, value in items:
        if not isinstance(key, str):
            continue
        if isinstance(value, str):
            if value == "":
                continue  # an empty value is exactly as if the parameter were absent
            value = _clean_text(value)
        elif not isinstance(value, Malformed):
            value = MALFORMED  # e.g. an uploaded file where text was expected
        values[key] = value
    return values


def api_parameters(request: Request) -> dict[str, object]:
    """The request's parameters: the body's, overridden by the query string's (§1).

    Values are text or MALFORMED. A body that cannot be parsed (broken JSON, a JSON
    value that is not an object, an unknown content type) contributes nothing: the
    request is then judged on its query string alone. Computed once per request.
    """
    cached = getattr(request, "_api_parameters", None)
    if cached is not None:
        return cached
    try:
        body = request.data
    except exceptions.APIException:
        body = {}
    params = _source_values(body)
    params.update(_source_values(request.query_params))
    request._api_parameters = params
    return params


def is_test_request(request: Request) -> bool:
    return api_parameters(request).get("test") == "1"


# --- Throttling of failed authentications (§7) -----------------------------


def client_address(request: Request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client and cannot be trusted
    # here; a deployment behind a proxy must have the proxy's server set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _counter_keys(address: str, username: object) -> list[str]:
    keys = ["api-auth-failures:addr:" + hashlib.sha256(address.encode()).hexdigest()]
    if isinstance(username, str):
        # Hashed: any text is a valid cache key this way, whatever its length or bytes.
        keys.append("api-auth-failures:u:" + hashlib.sha256(username.encode()).hexdigest())
    return keys


def _limit_and_window() -> tuple[int, int]:
    return settings.API_AUTH_FAILURE_LIMIT, max(1, settings.API_AUTH_FAILURE_WINDOW)


def seconds_blocked(address: str, username: object) -> int:
    """Seconds until the caller may try again; 0 when it is not blocked."""
    limit, window = _limit_and_window()
    if limit <= 0:
        return 0
    keys = _counter_keys(address, username)
    counts = cache.get_many(keys + [key + ":since" for key in keys])
    wait = 0
    for key in keys:
        if counts.get(key, 0) >= limit:
            since = counts.get(key + ":since", time.time())
            wait = max(wait, int(since + window - time.time()) + 1)
    return max(wait, 0)


def record_failure(address: str, username: object) -> None:
    """Count one failed authentication for the address and for `u` (a fixed window)."""
    limit, window = _limit_and_window()
    if limit <= 0:
        return
    for key in _counter_keys(address, username):
        # add() opens the window only if none is open (SET NX in Redis); incr() is
        # atomic in Redis and in the local-memory cache, so concurrent failures all
        # count, across processes too.
        cache.add(key + ":since", time.time(), timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # the window closed between add() and incr(): a new one
            cache.set(key + ":since", time.time(), timeout=window)
            cache.set(key, 1, timeout=window)


# --- The authentication class ----------------------------------------------


class ApiHashAuthentication(BaseAuthentication):
    """`u` names the account, `hash` proves knowledge of the API secret key (§2, §3)."""

    def authenticate(self, request: Request) -> tuple[User, None]:
        params = api_parameters(request)
        address = client_address(request)
        username = params.get("u")

        wait = seconds_blocked(address, username)
        if wait:
            logger.warning("API request refused: too many failed attempts (address %s)", address)
            raise TooManyFailedAttempts(wait)

        # 1: the account, by its exact username.
        account = None
        if isinstance(username, str):
            account = (
                User.objects.select_related("owner", "accountant_group", "api_permission_group")
                .filter(username=username)
                .first()
            )
        if account is None or not account.is_active:
            self._fail(ACCESS_DENIED, address, username)

        # 2: Allow API, for the system and, for a reseller's side, the reseller too.
        chain = settings_chain(account)
        if not all(api_settings.allow_api for api_settings in chain):
            raise ApiRefusal(API_DISABLED)

        # 3: GET only when the system allows it (only the system setting counts).
        if request.method == "GET" and not chain[0].allow_get_api:
            raise ApiRefusal(GET_DISABLED)

        # 4 and 5: the effective settings (the last of the chain) decide on the hash.
        effective = chain[-1]
        if not effective.disable_hash_checking:
            if not effective.api_secret_key:
                self._fail(NO_SECRET, address, username)
            given = params.get("hash")
            hashed = {key: value for key, value in params.items() if isinstance(value, str)}
            if not isinstance(given, str) or not hash_is_valid(
                given, hashed, effective.api_secret_key
            ):
                self._fail(INCORRECT_HASH, address, username)

        return account, None

    @staticmethod
    def _fail(text: str, address: str, username: object) -> None:
        record_failure(address, username)
        # Never the hash nor the secret; `u` is repr()'d so that it cannot forge log lines.
        shown = repr(username[:150]) if isinstance(username, str) else "(none)"
        logger.warning("API authentication failed: %s (u=%s, address %s)", text, shown, address)
        raise ApiAuthenticationFailed(text)
