"""Atomic attempt counting, for the sign-in lockout and the API's throttle.

A counter allows at most `limit` attempts per window. An attempt takes a *slot*
before the slow check it guards (the password hash, the account lookup and the API
hash) with one atomic increment in the cache: Redis INCR, or the local-memory
cache's lock. A slot beyond the limit is given back at once and the attempt is
refused unchecked. However many requests, threads or processes arrive at the same
moment, no more than `limit` of them are checked per window; an attempt that turns
out not to be a failure gives its slot back, so the count is of failures (and of
attempts still being checked).

The window is fixed: the first attempt opens it (`add`, i.e. Redis SET NX, with
the window as its lifetime, holding its start time and a random name) and the count
is kept under a key with the window's name, so a count never outlives its window
nor leaks into the next one, and clearing a counter is deleting its window. With
several processes the cache must be shared (CACHE_URL=redis://…).
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from dataclasses import dataclass

from django.core.cache import cache

# A count key outlives its window by this much, so that an increment never meets a
# count that expired under it (Django's Redis incr() checks, then increments).
_COUNT_MARGIN = 60
# Opening a window can race with its expiry; after this many tries, refuse briefly.
_TRIES = 5


@dataclass(frozen=True)
class Slot:
    """One attempt's place in a counter's window."""

    key: str
    count: int  # the number of slots taken in this window, this one included

    def give_back(self) -> None:
        # ValueError: the window (and its count) has gone meanwhile.
        with contextlib.suppress(ValueError):
            cache.decr(self.key)


@dataclass(frozen=True)
class Locked:
    """The counter is full: try again in `wait` seconds."""

    wait: int


def _window_key(key: str) -> str:
    return f"{key}:window"


def _count_key(key: str, name: str) -> str:
    return f"{key}:count:{name}"


def _window(key: str) -> tuple[float, str] | None:
    """The open window's (start, name), if any."""
    value = cache.get(_window_key(key))
    if isinstance(value, list | tuple) and len(value) == 2:
        return float(value[0]), str(value[1])
    return None


def take_slot(key: str, *, limit: int, window: int) -> Slot | Locked:
    """Take a slot of `key`'s current window, or learn how long the counter is full."""
    window = max(1, window)
    for _ in range(_TRIES):
        now = time.time()
        cache.add(_window_key(key), (now, secrets.token_hex(8)), timeout=window)
        opened = _window(key)
        if opened is None:  # the window closed between add() and get(): open the next
            continue
        since, name = opened
        count_key = _count_key(key, name)
        cache.add(count_key, 0, timeout=window + _COUNT_MARGIN)
        try:
            count = cache.incr(count_key)
        except ValueError:  # the count went with its window: open the next
            continue
        if count <= limit:
            return Slot(count_key, count)
        Slot(count_key, count).give_back()  # refused: it must not count
        return Locked(max(1, math.ceil(since + window - now)))
    return Locked(1)


def seconds_locked(key: str, *, limit: int, window: int) -> int:
    """Seconds until `key` has a free slot again; 0 when it has one. Takes nothing."""
    opened = _window(key)
    if opened is None:
        return 0
    since, name = opened
    if cache.get(_count_key(key, name), 0) < limit:
        return 0
    return max(0, math.ceil(since + max(1, window) - time.time()))


def clear(key: str) -> None:
    """Forget the counter's window: the next attempt opens a new one."""
    cache.delete(_window_key(key))


def give_back(slots: list[Slot]) -> None:
    for slot in slots:
        slot.give_back()
