"""System checks of the deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

LOCAL_CACHE_ID = "accounts.I001"


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def local_memory_cache(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The sign-in lockout and the API's throttling count in the cache. A local-memory
    cache is one per process: with N processes (gunicorn workers, machines) each keeps its
    own counts, and the limits are N times higher. An Info, not a Warning: a single
    process is a valid deployment, and `check --deploy --fail-level WARNING` must pass
    without a cache server (CI)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or not backend.endswith(".LocMemCache"):
        return []
    return [
        checks.Info(
            "The cache is local memory: every process counts failed sign-ins and API "
            "authentications on its own, so with several processes (gunicorn workers, "
            "machines) the lockout and throttling limits are multiplied.",
            hint="Set CACHE_URL=redis://… shared by every process (docs/scaling.md).",
            id=LOCAL_CACHE_ID,
        )
    ]
