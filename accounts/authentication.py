"""The MOR API's `u`/`hash` authentication, with throttling of failed attempts.

`ApiHashAuthentication` runs the contract's checks 1 to 5 (dids_get.md §3) in
order: the account (`u`), *Allow API* along the settings chain, *Allow GET
API*, a secret key to check against, the hash. Checks 1, 4 and 5 are failed
authentications: they are counted per client address and per `u` (§7), and
once either count reaches the limit the caller gets HTTP 429 without the hash
being evaluated, except that the lock for a `u` does not apply to its known
clients (addresses it authenticated from within 30 days). Counting is atomic
(accounts.throttle). The hash itself is built only by `accounts.api_hash`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import QueryDict
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from portal.statements import Statement
from portal.text import is_valid_text

from . import throttle
from .api_hash import (
    LEGACY_ORDER,
    HashedParameters,
    hash_is_valid,
    settings_chain,
    with_settings_chain,
)
from .models import ApiKnownClient, User

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
# Each request takes a slot in its address's counter and in its `u`'s before the
# account is looked up and the hash evaluated (accounts.throttle: one atomic
# increment each), so that however many requests arrive at once, no more than the
# limit are checked per window. A failed authentication keeps its slots; any other
# outcome gives them back. The lock for a `u` does not apply to its known clients.

KNOWN_CLIENT_DAYS = 30
# A known client's last success is written at most this often (seconds).
KNOWN_CLIENT_REFRESH = 3600


def client_address(request: Request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client and cannot be trusted
    # here; a deployment behind a proxy must have the proxy's server set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _digest(text: str) -> str:
    # Hashed: any text is a valid cache key this way, whatever its length or bytes.
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _address_key(address: str) -> str:
    return "api-auth-failures:addr:" + _digest(address)


def _username_key(username: str) -> str:
    return "api-auth-failures:u:" + _digest(username)


def _limit_and_window() -> tuple[int, int]:
    return settings.API_AUTH_FAILURE_LIMIT, max(1, settings.API_AUTH_FAILURE_WINDOW)


def seconds_blocked(address: str, username: object) -> int:
    """Seconds until the address, or `u`, may be tried again; 0 when neither is full.
    Reads only: takes no slot, and does not ask whether the address is a known client."""
    limit, window = _limit_and_window()
    if limit <= 0:
        return 0
    keys = [_address_key(address)]
    if isinstance(username, str):
        keys.append(_username_key(username))
    return max(throttle.seconds_locked(key, limit=limit, window=window) for key in keys)


def is_known_client(username: str, address: str) -> bool:
    """Did `u` authenticate successfully from this address within KNOWN_CLIENT_DAYS?"""
    since = timezone.now() - timedelta(days=KNOWN_CLIENT_DAYS)
    return ApiKnownClient.objects.filter(
        user__username=username, address=address, last_success_at__gte=since
    ).exists()


# What this process already knows to be recorded: digest -> until when (time.time())
# it need not ask the shared cache again. Half the refresh period, so that the database
# still hears of a client at least every 1.5 x KNOWN_CLIENT_REFRESH; a cache call per
# API request (a round trip to Redis, 0.3 ms of CPU) is saved. Bounded: emptied when full.
_seen_recorded: dict[str, float] = {}
_SEEN_RECORDED_MAX = 10_000


def forget_seen_clients() -> None:
    """Forget what this process knows to be recorded (tests start from nothing)."""
    _seen_recorded.clear()


def known_client_record(account: User, address: str) -> None:
    """Remember a successful authentication from this address (a write an hour at most)."""
    digest = _digest(f"{account.pk} {address}")
    now = time.time()
    if _seen_recorded.get(digest, 0.0) > now:
        return
    if len(_seen_recorded) >= _SEEN_RECORDED_MAX:
        _seen_recorded.clear()
    written = cache.add("api-known-client:" + digest, 1, timeout=KNOWN_CLIENT_REFRESH)
    _seen_recorded[digest] = now + KNOWN_CLIENT_REFRESH / 2
    if not written:
        return
    # One statement (INSERT … ON CONFLICT DO UPDATE), safe when processes race.
    ApiKnownClient.objects.bulk_create(
        [ApiKnownClient(user=account, address=address, last_success_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "address"],
        update_fields=["last_success_at"],
    )


def take_attempt_slots(address: str, username: object) -> list[throttle.Slot]:
    """The request's slots in its counters, before anything is checked; raises
    TooManyFailedAttempts (holding nothing) when the address, or `u` for a client
    that is not one of its known clients, is full."""
    limit, window = _limit_and_window()
    if limit <= 0:
        return []
    taken = throttle.take_slot(_address_key(address), limit=limit, window=window)
    if isinstance(taken, throttle.Locked):
        raise TooManyFailedAttempts(taken.wait)
    slots = [taken]
    if isinstance(username, str):
        taken = throttle.take_slot(_username_key(username), limit=limit, window=window)
        if isinstance(taken, throttle.Slot):
            slots.append(taken)
        # Asked only when `u` is full, so an ordinary request costs no query for it.
        elif not is_known_client(username, address):
            throttle.give_back(slots)
            raise TooManyFailedAttempts(taken.wait)
    return slots


# --- The authentication class ----------------------------------------------


# Every API request asks, so the query is compiled once (portal.statements): building
# and compiling it cost 0.8 ms of CPU a request, running it 0.15 ms.
_ACCOUNT_NAMED = Statement(
    lambda username: with_settings_chain(
        User.objects.select_related("owner", "accountant_group", "api_permission_group")
    ).filter(username=username),
    username=User._meta.get_field("username"),
)


def account_named(username: str) -> User | None:
    """The account with exactly this username, its owner, groups and API settings (the
    system's and its reseller's, for settings_chain) read with it, in one query."""
    try:
        return _ACCOUNT_NAMED.get(username=username)
    except User.DoesNotExist:
        return None


def method_hashed_parameters(request: Request) -> HashedParameters:
    """The hashed parameters that the called method declares (`hashed_parameters` on
    its view); the legacy order for a view that declares none (dids_get)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return getattr(view, "hashed_parameters", None) or LEGACY_ORDER


class ApiHashAuthentication(BaseAuthentication):
    """`u` names the account, `hash` proves knowledge of the API secret key (§2, §3)."""

    def authenticate(self, request: Request) -> tuple[User, None]:
        params = api_parameters(request)
        address = client_address(request)
        username = params.get("u")

        try:
            slots = take_attempt_slots(address, username)
        except TooManyFailedAttempts:
            logger.warning("API request refused: too many failed attempts (address %s)", address)
            raise
        try:
            account = self._check(request, params, address, username)
        except ApiAuthenticationFailed:
            raise  # a failed authentication: its slots stay taken, they are its count
        except BaseException:
            throttle.give_back(slots)  # checks 2 and 3 refuse, but nobody failed to prove
            raise
        throttle.give_back(slots)
        known_client_record(account, address)
        return account, None

    def _check(
        self, request: Request, params: dict[str, object], address: str, username: object
    ) -> User:
        # 1: the account, by its exact username.
        account = account_named(username) if isinstance(username, str) else None
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
                given, hashed, effective.api_secret_key, method_hashed_parameters(request)
            ):
                self._fail(INCORRECT_HASH, address, username)

        return account

    @staticmethod
    def _fail(text: str, address: str, username: object) -> None:
        # Never the hash nor the secret; `u` is repr()'d so that it cannot forge log lines.
        shown = repr(username[:150]) if isinstance(username, str) else "(none)"
        logger.warning("API authentication failed: %s (u=%s, address %s)", text, shown, address)
        raise ApiAuthenticationFailed(text)
