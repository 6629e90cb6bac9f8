"""Loaded by pytest with `-p` (see pyproject.toml), before Django's settings are read.

Gives the test run what production must set explicitly: a secret key, and plain
HTTP (the test client and the live server speak HTTP). Values already in the
environment win, so CI can run the suite against PostgreSQL with DATABASE_URL.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DJANGO_SECURE_SSL", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
