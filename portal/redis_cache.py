"""Django's Redis cache, with one client per connection pool instead of one per call.

`django.core.cache.backends.redis.RedisCacheClient.get_client` builds a new
`redis.Redis` for every cache operation; its constructor fills a table of response
callbacks, about 0.2 ms of CPU, as much as the command's own round trip. Every API
request makes at least one cache operation (the throttling counters, the known client),
every signed-in page reads its session. A `redis.Redis` is safe to share between
threads: each command takes a connection from the pool and gives it back, and the pool
starts afresh in a forked process. Everything else (keys, serialization, options) is
Django's.

CACHE_URL=redis://… selects this backend (portal.settings).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(index)
                if client is None:
                    pool = self._get_connection_pool(write)
                    client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
