"""Personas and shared fixtures. Tests build everything else with portal.testing.factories."""

import pytest

from accounts.models import Level, MethodRight, User
from portal.testing.factories import (
    AccountantGroupFactory,
    ApiPermissionGroupFactory,
    ApiSettingsFactory,
    UserFactory,
)

# Browser fixtures (system Chromium, `signed_in_page`, `screenshot`) for @pytest.mark.browser tests.
pytest_plugins = ["portal.testing.browser"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness is for production, not for thousands of test users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests run without collectstatic: no manifest, so static names are served as they are."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttling counters live in the cache: every test starts from zero (and from
    no known client this process has seen recorded)."""
    from django.core.cache import cache

    from accounts.authentication import forget_seen_clients

    cache.clear()
    forget_seen_clients()
    yield
    cache.clear()
    forget_seen_clients()


@pytest.fixture
def portal_admin(db) -> User:
    """The system administrator: what `owner` shows for DIDs nobody holds."""
    return UserFactory(
        username="alice",
        first_name="Alice",
        last_name="Admin",
        role=User.Role.ADMIN,
        is_system_administrator=True,
    )


@pytest.fixture
def other_admin(db) -> User:
    return UserFactory(
        username="arthur", first_name="Arthur", last_name="Ops", role=User.Role.ADMIN
    )


@pytest.fixture
def did_readers(db):
    return AccountantGroupFactory(name="DID readers", rights={"manage_dids": Level.READ})


@pytest.fixture
def did_writers(db):
    return AccountantGroupFactory(name="DID writers", rights={"manage_dids": Level.WRITE})


@pytest.fixture
def no_rights(db):
    return AccountantGroupFactory(name="Payroll", rights={})


@pytest.fixture
def accountant(did_readers) -> User:
    return UserFactory(
        username="bob",
        first_name="Bob",
        last_name="Books",
        role=User.Role.ACCOUNTANT,
        accountant_group=did_readers,
    )


@pytest.fixture
def accountant_without_right(no_rights) -> User:
    return UserFactory(
        username="bert",
        first_name="Bert",
        last_name="Payroll",
        role=User.Role.ACCOUNTANT,
        accountant_group=no_rights,
    )


@pytest.fixture
def reseller(db) -> User:
    return UserFactory(
        username="charlie", first_name="Charlie", last_name="Resale", role=User.Role.RESELLER
    )


@pytest.fixture
def other_reseller(db) -> User:
    return UserFactory(
        username="dave", first_name="Dave", last_name="Wholesale", role=User.Role.RESELLER
    )


@pytest.fixture
def reseller_user(reseller) -> User:
    """An end user owned by `reseller`."""
    return UserFactory(
        username="erin",
        first_name="Erin",
        last_name="Customer",
        role=User.Role.USER,
        owner=reseller,
    )


@pytest.fixture
def end_user(db) -> User:
    """An end user owned by the system."""
    return UserFactory(
        username="frank", first_name="Frank", last_name="Enduser", role=User.Role.USER
    )


@pytest.fixture
def system_api(db):
    """System API settings with the secret `secret` (hash = sha1('secret'))."""
    return ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="secret")


@pytest.fixture
def dids_get_group(db):
    return ApiPermissionGroupFactory(name="Read DIDs", methods={"dids_get": MethodRight.READ})
