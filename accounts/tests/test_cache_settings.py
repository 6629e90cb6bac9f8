"""The cache from CACHE_URL, and the deployment check that a local-memory cache is per
process (docs/scaling.md)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from accounts.checks import LOCAL_CACHE_ID, local_memory_cache

BASE_DIR = Path(settings.BASE_DIR)


def production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in ("DATABASE_URL", "CACHE_URL")
    }
    env["DJANGO_SECRET_KEY"] = "k3Y-" + "x7Qp9vR2mL5tW8zB4nC6jH1gF0dS3aE" * 2
    env["DJANGO_ALLOWED_HOSTS"] = "portal.example.com"
    env.update(extra)
    return env


def test_cache_url_options_reach_djangos_redis_cache():
    code = (
        "import django; django.setup(); from django.core.cache import cache;"
        "print(cache.make_key('k'), cache.default_timeout)"
    )
    result = subprocess.run(  # noqa: S603 (a fixed command line: this interpreter)
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(
            DJANGO_SETTINGS_MODULE="portal.settings",
            CACHE_URL="redis://127.0.0.1:6379/1?key_prefix=portal-a&timeout=60",
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["portal-a:1:k", "60"]


def test_check_deploy_tells_of_a_local_memory_cache_without_failing():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"({LOCAL_CACHE_ID}) The cache is local memory" in result.stderr
    assert "CACHE_URL=redis://" in result.stderr


def test_the_check_is_quiet_with_a_shared_cache_or_in_debug():
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    with override_settings(DEBUG=False, CACHES=redis):
        assert local_memory_cache(None) == []
    with override_settings(DEBUG=True):
        assert local_memory_cache(None) == []
    with override_settings(DEBUG=False):
        assert [message.id for message in local_memory_cache(None)] == [LOCAL_CACHE_ID]
