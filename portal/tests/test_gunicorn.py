"""gunicorn trusts forwarded headers only behind a proxy (gunicorn.conf.py): without
DJANGO_BEHIND_PROXY, `X-Forwarded-Proto: https` from 127.0.0.1 cannot pass plain HTTP
off as HTTPS. Runs the real server on a free loopback port."""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="no gunicorn"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_with_forwarded_https(config: str, tmp_path: Path, **environment: str) -> int:
    """Start gunicorn with the config, POST to dids_get claiming HTTPS; the status."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))},
        "DJANGO_SECRET_KEY": "test-only-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        **environment,
    }
    server = subprocess.Popen(  # noqa: S603 (this interpreter's gunicorn, loopback only)
        [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi", "-c", config,
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                # The worker may take many seconds to boot on a busy machine; the
                # connection waits in the listen backlog meanwhile.
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request(
                    "POST",
                    "/billing/api/dids_get",
                    body="u=",
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Forwarded-Proto": "https",
                    },
                )
                return connection.getresponse().status
            except ConnectionRefusedError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_without_a_proxy_a_forwarded_https_is_redirected(tmp_path):
    assert post_with_forwarded_https(str(ROOT / "gunicorn.conf.py"), tmp_path) == 301


def test_behind_a_proxy_its_forwarded_https_is_trusted(tmp_path):
    status = post_with_forwarded_https(
        str(ROOT / "gunicorn.conf.py"), tmp_path, DJANGO_BEHIND_PROXY="true"
    )
    assert status == 200  # dids_get's answer (Access Denied), over what is now HTTPS


def gunicorn_settings(monkeypatch, **environment: str) -> dict:
    import runpy

    for name in list(os.environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_the_default_workers_keep_long_streams_alive(monkeypatch):
    """gthread: the arbiter's timeout does not kill a worker whose thread streams a long
    export (a sync worker is killed after `timeout` seconds of one request)."""
    settings = gunicorn_settings(monkeypatch)
    assert settings["worker_class"] == "gthread"
    assert (settings["workers"], settings["threads"]) == (4, 4)
    assert (settings["timeout"], settings["keepalive"]) == (60, 5)


def test_the_workers_come_from_the_environment(monkeypatch):
    settings = gunicorn_settings(
        monkeypatch,
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="120",
        GUNICORN_KEEPALIVE="2",
    )
    assert (settings["workers"], settings["threads"]) == (2, 8)
    assert (settings["timeout"], settings["keepalive"]) == (120, 2)


def test_a_sync_worker_has_one_thread(monkeypatch):
    """With more threads gunicorn would run gthread instead of the sync worker asked for."""
    settings = gunicorn_settings(monkeypatch, GUNICORN_WORKER_CLASS="sync")
    assert (settings["worker_class"], settings["threads"]) == ("sync", 1)
