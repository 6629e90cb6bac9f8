"""Security headers and the deployment check."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)


def test_pages_carry_a_content_security_policy(client, portal_admin):
    client.force_login(portal_admin)
    for url in (reverse("accounts:account_list"), reverse("login"), "/admin/login/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_http_only_and_lax(client, reseller):
    response = client.post(
        reverse("login"), {"username": "charlie", "password": "correct-horse-battery"}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert settings.CSRF_COOKIE_HTTPONLY


def test_check_deploy_passes_with_a_secret_key_and_allowed_hosts():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "DATABASE_URL"
    }
    env["DJANGO_SECRET_KEY"] = "k3Y-" + "x7Qp9vR2mL5tW8zB4nC6jH1gF0dS3aE" * 2
    env["DJANGO_ALLOWED_HOSTS"] = "portal.example.com"
    env["CACHE_URL"] = "redis://127.0.0.1:6379/1"  # as the README's production set-up
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_error_pages_carry_the_policy_too(client, portal_admin):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(portal_admin)
    refused = csrf_client.post(reverse("accounts:system_settings"), {})
    assert refused.status_code == 403
    assert "default-src 'self'" in refused["Content-Security-Policy"]
    anonymous = client.get(reverse("accounts:audit_log"))
    assert anonymous.status_code == 302
    assert "default-src 'self'" in anonymous["Content-Security-Policy"]
