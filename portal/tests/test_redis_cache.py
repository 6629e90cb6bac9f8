"""portal.redis_cache: Django's Redis cache with one client per connection pool, shared
by threads; CACHE_URL=redis://… selects it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings

from portal.redis_cache import RedisCache

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_cache():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at " + REDIS_URL)
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-redis-cache"})
    cache.clear()
    yield cache
    cache.clear()


def test_one_client_per_pool_serves_every_operation(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client("any key", write=True) is client
    assert redis_cache._cache.get_client(write=False) is client  # one server: one pool
    assert redis_cache.add("k", 1, timeout=60) is True
    assert redis_cache.add("k", 2, timeout=60) is False
    assert redis_cache.get("k") == 1
    redis_cache.set("d", {"a": [1, 2]})
    assert redis_cache.get("d") == {"a": [1, 2]}
    assert redis_cache.incr("k", 5) == 6
    assert redis_cache.delete("k") is True
    assert redis_cache.get("k", "gone") == "gone"


def test_threads_share_the_client_and_every_increment_counts(redis_cache):
    redis_cache.set("n", 0)
    barrier = threading.Barrier(8)
    clients = []

    def run() -> None:
        barrier.wait()
        for _ in range(200):
            redis_cache.incr("n")
        clients.append(redis_cache._cache.get_client(write=True))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redis_cache.get("n") == 1600
    assert len({id(client) for client in clients}) == 1


def test_cache_url_selects_it():
    code = (
        "import django; django.setup(); from django.core.cache import caches;"
        "print(type(caches['default']).__module__, type(caches['default']).__name__)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", CACHE_URL="redis://127.0.0.1:6379/1")
    result = subprocess.run(  # noqa: S603 (a fixed command line: this interpreter)
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["portal.redis_cache", "RedisCache"]
