"""Throttling of failed authentications (dids_get.md §7) and their logging."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache

import accounts.authentication
from accounts.models import User
from dids.api.testing import SECRET_HASH, body_of, call, error_of, ids_of, sha1
from portal.testing.factories import ApiSettingsFactory, DidFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limit3(settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.API_AUTH_FAILURE_WINDOW = 60


@pytest.fixture
def did(portal_admin, system_api):
    return DidFactory(number="1")


def from_address(client, address, params):
    return call(client, params, REMOTE_ADDR=address)


def assert_throttled(response, window=60):
    assert response.status_code == 429
    assert error_of(response) == "Too many failed attempts"
    assert 1 <= int(response["Retry-After"]) <= window + 1


def test_failures_from_one_address_block_that_address(client, limit3, did):
    for name in ("mallory", "eve", "trudy"):
        assert error_of(from_address(client, "10.0.0.1", {"u": name})) == "Access Denied"
    assert_throttled(from_address(client, "10.0.0.1", {"u": "alice", "hash": SECRET_HASH}))
    # Another address and the account itself are unaffected.
    assert ids_of(from_address(client, "10.0.0.2", {"u": "alice", "hash": SECRET_HASH})) == [did.id]


def test_failures_for_one_u_block_that_u_from_everywhere(client, limit3, did):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        response = from_address(client, address, {"u": "alice", "hash": "wrong"})
        assert error_of(response) == "Incorrect hash"
    assert_throttled(from_address(client, "10.0.0.9", {"u": "alice", "hash": SECRET_HASH}))
    # Another account from that fresh address goes through.
    UserFactory(username="zoe", role=User.Role.ADMIN)
    assert ids_of(from_address(client, "10.0.0.9", {"u": "zoe", "hash": SECRET_HASH})) == [did.id]


def test_missing_secret_counts_as_a_failure(client, limit3, portal_admin):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="")
    for _ in range(3):
        assert error_of(call(client, {"u": "alice"})) == "API must have Secret Key"
    assert_throttled(call(client, {"u": "alice"}))


def test_the_request_that_reaches_the_limit_still_gets_its_own_answer(client, limit3, did):
    assert error_of(call(client, {"u": "x"})) == "Access Denied"
    assert error_of(call(client, {"u": "x"})) == "Access Denied"
    assert error_of(call(client, {"u": "x"})) == "Access Denied"  # the third: counted
    assert_throttled(call(client, {"u": "x"}))


def test_other_refusals_are_not_counted(client, limit3, did, accountant_without_right):
    for _ in range(5):
        assert error_of(call(client, {"u": "alice", "hash": SECRET_HASH}, method="get")) == (
            "GET Requests are disabled"
        )
        assert error_of(call(client, {"u": "bert", "hash": SECRET_HASH})) == (
            "You are not authorized to manage DIDs"
        )
        assert error_of(call(client, {"u": "alice", "hash": SECRET_HASH, "from": "0"})) == (
            "Invalid from: expected a whole number of at least 1"
        )
        assert error_of(call(client, {"u": "alice", "hash": SECRET_HASH, "from": "9"})) == (
            "No DIDs found"
        )
    assert ids_of(call(client, {"u": "alice", "hash": SECRET_HASH})) == [did.id]


def test_a_blocked_caller_is_refused_without_evaluating_the_hash(client, limit3, did, monkeypatch):
    for _ in range(3):
        call(client, {"u": "alice", "hash": "wrong"})

    def must_not_run(*args, **kwargs):
        raise AssertionError("the hash was evaluated")

    monkeypatch.setattr(accounts.authentication, "hash_is_valid", must_not_run)
    assert_throttled(call(client, {"u": "alice", "hash": SECRET_HASH}))


def test_the_block_ends_when_the_window_has_passed(client, limit3, did, monkeypatch):
    for _ in range(3):
        call(client, {"u": "alice", "hash": "wrong"})
    assert_throttled(call(client, {"u": "alice", "hash": SECRET_HASH}))
    later = time.time() + 61
    # Both the counters' expiry (local-memory cache) and Retry-After read time.time().
    monkeypatch.setattr(time, "time", lambda: later)
    assert ids_of(call(client, {"u": "alice", "hash": SECRET_HASH})) == [did.id]


def test_blocked_requests_do_not_extend_the_block(client, limit3, did, monkeypatch):
    for _ in range(3):
        call(client, {"u": "alice", "hash": "wrong"})
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 50)
    for _ in range(10):
        assert_throttled(call(client, {"u": "alice", "hash": "wrong"}))
    monkeypatch.setattr(time, "time", lambda: start + 61)
    assert ids_of(call(client, {"u": "alice", "hash": SECRET_HASH})) == [did.id]


def test_retry_after_counts_down(client, limit3, did, monkeypatch):
    for _ in range(3):
        call(client, {"u": "alice", "hash": "wrong"})
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 40)
    response = call(client, {"u": "alice", "hash": SECRET_HASH})
    assert response.status_code == 429
    assert 19 <= int(response["Retry-After"]) <= 21


def test_limit_zero_turns_throttling_off(client, settings, did):
    settings.API_AUTH_FAILURE_LIMIT = 0
    for _ in range(30):
        assert error_of(call(client, {"u": "alice", "hash": "wrong"})) == "Incorrect hash"
    assert ids_of(call(client, {"u": "alice", "hash": SECRET_HASH})) == [did.id]


def test_default_limit_is_twenty(client, did):
    for _ in range(20):
        assert error_of(call(client, {"u": "alice", "hash": "wrong"})) == "Incorrect hash"
    assert_throttled(call(client, {"u": "alice", "hash": SECRET_HASH}), window=300)


def test_throttled_test_page_is_html_with_429(client, limit3, did):
    for _ in range(3):
        call(client, {"u": "x"})
    response = call(client, {"u": "alice", "hash": SECRET_HASH, "test": "1"})
    assert response.status_code == 429
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Too many failed attempts" in body_of(response).decode()
    assert "Retry-After" in response


def test_failures_are_logged_without_hash_or_secret(client, did, caplog):
    wrong = sha1("guess")
    with caplog.at_level(logging.WARNING, logger="accounts.authentication"):
        call(client, {"u": "alice", "hash": wrong}, REMOTE_ADDR="10.1.2.3")
        call(client, {"u": "nobody\nFAKE LINE"}, REMOTE_ADDR="10.1.2.3")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "API authentication failed: Incorrect hash (u='alice', address 10.1.2.3)",
        "API authentication failed: Access Denied (u='nobody\\nFAKE LINE', address 10.1.2.3)",
    ]
    logged = "\n".join(messages)
    assert wrong not in logged
    assert "secret" not in logged
    assert SECRET_HASH not in logged


def test_success_is_not_logged_as_a_failure(client, did, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.authentication"):
        ids_of(call(client, {"u": "alice", "hash": SECRET_HASH}))
    assert caplog.records == []


# --- Across processes, with Redis ---------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at " + REDIS_URL)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    cache.clear()
    yield
    cache.clear()


def blocked_in_another_process(*callers: tuple[str, str]) -> list[int]:
    """Ask a separate Python process, with its own Redis connection, how long each
    (address, u) is blocked."""
    code = (
        "import django; django.setup();"
        "from accounts.authentication import seconds_blocked;"
        f"print(*[seconds_blocked(a, u) for a, u in {list(callers)!r}])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_SECRET_KEY": "test-only",
        "CACHE_URL": REDIS_URL,
        "API_AUTH_FAILURE_LIMIT": "3",
        "API_AUTH_FAILURE_WINDOW": "60",
    }
    result = subprocess.run(  # noqa: S603 (a fixed command line: this interpreter)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return [int(word) for word in result.stdout.split()]


def test_throttling_is_shared_through_redis(client, limit3, redis_cache, did):
    for _ in range(3):
        call(client, {"u": "alice", "hash": "wrong"}, REMOTE_ADDR="10.9.9.9")
    same, same_u, same_address, neither = blocked_in_another_process(
        ("10.9.9.9", "alice"), ("10.0.0.1", "alice"), ("10.9.9.9", "zoe"), ("10.0.0.1", "zoe")
    )
    assert 1 <= same <= 61
    assert 1 <= same_u <= 61
    assert 1 <= same_address <= 61
    assert neither == 0
    assert_throttled(call(client, {"u": "alice", "hash": SECRET_HASH}))


# --- Known clients: a lockout cannot be turned against the integration (§7) -----------------

INTEGRATION = "10.0.0.5"
ATTACKER = "10.6.6.6"


def fail_from(client, address, username="alice", times=3):
    for _ in range(times):
        response = from_address(client, address, {"u": username, "hash": "wrong"})
        assert error_of(response) in ("Incorrect hash", "Access Denied")


def test_a_known_client_goes_on_while_its_u_is_locked_by_failures_from_elsewhere(
    client, limit3, did
):
    # The integration has called before: its address is a known client of alice.
    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    fail_from(client, ATTACKER)
    # alice is locked for everyone else ...
    assert_throttled(from_address(client, "10.0.0.9", {"u": "alice", "hash": SECRET_HASH}))
    # ... but not for the integration, whose correct request goes through,
    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    # and the attacker's own address stays locked, also with the right hash.
    assert_throttled(from_address(client, ATTACKER, {"u": "alice", "hash": SECRET_HASH}))


def test_a_known_clients_own_address_is_still_counted_and_locked(client, limit3, did):
    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    fail_from(client, INTEGRATION, username="nobody")
    assert_throttled(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH}))


def test_a_known_client_is_known_for_its_own_u_only(client, limit3, did):
    UserFactory(username="zoe", role=User.Role.ADMIN)
    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    fail_from(client, ATTACKER, username="zoe")
    assert_throttled(from_address(client, INTEGRATION, {"u": "zoe", "hash": SECRET_HASH}))


def test_a_client_is_known_for_thirty_days_after_its_last_success(client, limit3, did):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ApiKnownClient

    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    known = ApiKnownClient.objects.get(user__username="alice", address=INTEGRATION)
    fail_from(client, ATTACKER)
    known.last_success_at = timezone.now() - timedelta(days=29, hours=23)
    known.save()
    assert ids_of(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH})) == [
        did.id
    ]
    known.last_success_at = timezone.now() - timedelta(days=30, minutes=1)
    known.save()
    assert_throttled(from_address(client, INTEGRATION, {"u": "alice", "hash": SECRET_HASH}))


def test_a_failed_or_refused_request_makes_no_known_client(client, limit3, did, settings):
    from accounts.models import ApiKnownClient

    from_address(client, ATTACKER, {"u": "alice", "hash": "wrong"})
    from_address(
        client,
        ATTACKER,
        {"u": "alice", "hash": SECRET_HASH},
    )
    assert ApiKnownClient.objects.filter(address=ATTACKER).count() == 1  # the success only
    ApiKnownClient.objects.all().delete()
    call(client, {"u": "alice", "hash": SECRET_HASH}, method="get", REMOTE_ADDR="10.0.0.7")
    assert not ApiKnownClient.objects.exists()  # GET Requests are disabled


def test_a_known_clients_success_is_written_once_an_hour(client, did, monkeypatch):
    from accounts.models import ApiKnownClient

    call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR=INTEGRATION)
    first = ApiKnownClient.objects.get().last_success_at
    call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR=INTEGRATION)
    assert ApiKnownClient.objects.get().last_success_at == first
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR=INTEGRATION)
    assert ApiKnownClient.objects.get().last_success_at > first


def test_a_known_client_costs_a_cache_call_per_half_refresh_period(client, did, monkeypatch):
    from accounts.models import ApiKnownClient

    asked = []
    add = cache.add

    def counted(key, *args, **kwargs):
        if key.startswith("api-known-client:"):
            asked.append(key)
        return add(key, *args, **kwargs)

    monkeypatch.setattr(accounts.authentication.cache, "add", counted)
    for _ in range(3):
        call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR=INTEGRATION)
    assert len(asked) == 1  # the first success; the next ones are known to be recorded
    assert ApiKnownClient.objects.get().address == INTEGRATION
    call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR="10.0.0.9")
    assert len(asked) == 2  # another address is another client
    half = time.time() + accounts.authentication.KNOWN_CLIENT_REFRESH / 2 + 1
    monkeypatch.setattr(time, "time", lambda: half)
    call(client, {"u": "alice", "hash": SECRET_HASH}, REMOTE_ADDR=INTEGRATION)
    assert len(asked) == 3  # asked again; still within the cache's hour: no write
    assert ApiKnownClient.objects.filter(address=INTEGRATION).count() == 1
