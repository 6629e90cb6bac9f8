"""Scaled out (docs/scaling.md): two gunicorn instances, as on two machines behind one load
balancer, share one PostgreSQL database and one Redis. A sign-in lockout earned on one
is honoured by the other, and so is the API's throttling of failed authentications.

Real processes over real HTTP: the instances run with production settings (DEBUG off,
static files from collectstatic's manifest) against this test's database, which they
can read because the test is transactional (its data is committed). Redis is used
through a database number and key prefix of this module's own; only those keys are
deleted afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from accounts.api_hash import api_hash
from accounts.forms import LOCKED_MESSAGE
from accounts.models import User
from portal.testing.factories import ApiSettingsFactory, DidFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two server processes need a database server they both reach (PostgreSQL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PORTAL_TEST_SCALE_REDIS_URL", "redis://127.0.0.1:6379/13")
LIMIT = 3  # LOGIN_FAILURE_LIMIT and API_AUTH_FAILURE_LIMIT of both instances
PASSWORD = "scale-out-right-password"
SECRET = "scale-out-secret"
LOCKED_TEXT = LOCKED_MESSAGE.split(".")[0]  # "Too many failed sign-in attempts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database (not the one named in DATABASE_URL): what the children must use."""
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn on port {port} exited: {log.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) as probe,
        ):
            probe.request("GET", "/login/")
            if probe.getresponse().status == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"gunicorn on port {port} did not answer: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def instances(django_db_setup, tmp_path_factory):
    """Two gunicorn instances on two free loopback ports; their ports."""
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis at " + REDIS_URL + " (the instances share their counters there)")
    prefix = "scale-out-test-" + secrets.token_hex(4)
    work = tmp_path_factory.mktemp("scale-out")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "scale-out-test-" + "k" * 40,  # one key for both, as in production
        "DJANGO_SECURE_SSL": "false",  # plain HTTP on loopback
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(work / "static"),
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CACHE_URL": f"{REDIS_URL}?key_prefix={prefix}",
        "LOGIN_FAILURE_LIMIT": str(LIMIT),
        "API_AUTH_FAILURE_LIMIT": str(LIMIT),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    # As on every machine: production settings serve static names from the manifest.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    started: list[tuple[int, subprocess.Popen, Path]] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = work / f"gunicorn-{name}.log"
            process = subprocess.Popen(  # noqa: S603 (a fixed command line)
                [str(gunicorn), "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                cwd=ROOT,  # reads gunicorn.conf.py, as the README says to run it
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            started.append((port, process, log))
        for port, process, log in started:
            wait_until_serving(port, process, log)
        yield [port for port, _, _ in started]
    finally:
        for _, process, _ in started:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        for _, process, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        keys = list(server.scan_iter(match=prefix + ":*"))
        if keys:
            server.delete(*keys)


# --- HTTP, as a browser and as an API client would speak it --------------------------------


def sign_in(port: int, username: str, password: str) -> tuple[int, str]:
    """The sign-in form, with its CSRF cookie and token, in a fresh browser."""
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=30)) as http_:
        http_.request("GET", "/login/")
        page = http_.getresponse()
        body = page.read().decode()
        cookies = SimpleCookie()
        for header in page.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        http_.request(
            "POST",
            "/login/",
            urllib.parse.urlencode(form),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies['csrftoken'].value}",
            },
        )
        answer = http_.getresponse()
        return answer.status, answer.read().decode()


def dids_get(port: int, username: str, digest: str) -> tuple[int, str]:
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=30)) as http_:
        http_.request(
            "POST",
            "/billing/api/dids_get",
            urllib.parse.urlencode({"u": username, "hash": digest}),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = http_.getresponse()
        return answer.status, answer.read().decode()


def account(username: str) -> User:
    user = UserFactory(username=username, role=User.Role.ADMIN)
    # The instances use production's hashers; a low iteration count keeps the test quick.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "scaleoutsalt", iterations=1000)
    user.save(update_fields=["password"])
    return user


def test_a_sign_in_lockout_earned_on_one_instance_is_honoured_by_the_other(instances):
    a, b = instances
    account("lena")
    status, body = sign_in(b, "lena", PASSWORD)
    assert status == 302, re.findall(r'class="errornote">([^<]*)', body)  # signs in on either

    for _ in range(LIMIT):
        status, body = sign_in(a, "lena", "wrong-password")
        assert status == 200
        assert "Please enter a correct username and password" in body
        assert LOCKED_TEXT not in body

    status, body = sign_in(b, "lena", PASSWORD)
    assert status == 200  # refused: the form again, not the redirect to the home page
    assert LOCKED_TEXT in body


def test_api_throttling_earned_on_one_instance_is_honoured_by_the_other(instances):
    a, b = instances
    account("ansis")
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key=SECRET)
    DidFactory(number="37060000777")
    right = api_hash({}, SECRET)
    status, body = dids_get(b, "ansis", right)
    assert status == 200
    assert "<did>37060000777</did>" in body  # the right hash works on either

    for _ in range(LIMIT):
        status, body = dids_get(a, "ansis", "0" * 40)
        assert (status, "<error>Incorrect hash</error>" in body) == (200, True)

    status, body = dids_get(b, "ansis", right)
    assert status == 429
    assert "Too many failed attempts" in body
