"""Attempts take their slot atomically before the slow check: however many arrive at once,
in threads or in processes sharing Redis, no more than the limit are checked per window
(the sign-in lockout, and dids_get.md §7's throttle)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from portal.testing import races

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.API_AUTH_FAILURE_LIMIT = 20


def test_64_parallel_sign_ins_for_one_account_check_only_the_limit(limits):
    with races.counted_sign_in_checks() as checks:
        races.race(races.sign_in_attempt, 64, lambda i: f"198.51.100.{i}")
    assert checks.calls == 5


def test_64_parallel_sign_ins_from_one_address_check_only_the_limit(limits):
    with races.counted_sign_in_checks() as checks:
        races.race(races.sign_in_attempt, 64, lambda i: "203.0.113.9")
    assert checks.calls == 5


def test_64_parallel_bad_api_requests_for_one_u_check_only_the_limit(limits):
    with races.counted_api_checks() as checks:
        races.race(races.api_attempt, 64, lambda i: f"198.51.100.{i}")
    assert checks.calls == 20


def test_64_parallel_bad_api_requests_from_one_address_check_only_the_limit(limits):
    with races.counted_api_checks() as checks:
        races.race(races.api_attempt, 64, lambda i: "203.0.113.9")
    assert checks.calls == 20


def test_after_the_race_the_account_is_locked(limits):
    with races.counted_sign_in_checks() as checks:
        races.race(races.sign_in_attempt, 16, lambda i: f"198.51.100.{i}")
        races.sign_in_attempt("192.0.2.200")
    assert checks.calls == 5


# --- Two processes sharing Redis -----------------------------------------------------------


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


def race_in_processes(kind: str, processes: int, threads: int) -> list[int]:
    """Start `processes` programs that each release `threads` attempts at the same
    moment; each tells how many of its attempts were checked."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_SECRET_KEY": "test-only",
        "CACHE_URL": REDIS_URL,
        "LOGIN_FAILURE_LIMIT": "5",
        "API_AUTH_FAILURE_LIMIT": "20",
    }
    start_at = time.time() + 3  # time for every interpreter to start and set up Django
    children = [
        subprocess.Popen(  # noqa: S603 (a fixed command line: this interpreter)
            [sys.executable, "-m", "portal.testing.races", kind, str(start_at), str(threads)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    counts = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        counts.append(int(out.split()[-1]))
    return counts


def test_two_processes_sharing_redis_check_only_the_sign_in_limit(redis_cache):
    counts = race_in_processes("login", processes=2, threads=32)
    assert sum(counts) == 5, counts


def test_two_processes_sharing_redis_check_only_the_api_limit(redis_cache):
    counts = race_in_processes("api", processes=2, threads=32)
    assert sum(counts) == 20, counts


def test_the_local_memory_cache_keeps_enough_counters():
    """Django's default of 300 keys: 75 failures with distinct usernames and addresses
    would push an account's counter out."""
    from django.conf import settings

    options = settings.CACHES["default"].get("OPTIONS", {})
    if settings.CACHES["default"]["BACKEND"].endswith(".LocMemCache"):
        assert options["MAX_ENTRIES"] >= 100_000
