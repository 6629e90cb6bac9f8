"""The Django admin: every model is there for staff, and the API secret never shows in full."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import ApiSettings, SystemSettings
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def superuser(portal_admin):
    portal_admin.is_staff = portal_admin.is_superuser = True
    portal_admin.save()
    return portal_admin


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


def test_every_portal_model_is_registered():
    from django.apps import apps

    for label in ("accounts", "dids"):
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model


@pytest.mark.parametrize(
    "name",
    [
        "accounts_user",
        "accounts_accountantgroup",
        "accounts_apipermissiongroup",
        "accounts_apisettings",
        "accounts_systemsettings",
        "dids_provider",
        "dids_device",
        "dids_dialplan",
        "dids_did",
        "dids_didhistory",
    ],
)
def test_change_lists_render_for_staff(staff_client, name):
    did = DidFactory(
        provider=ProviderFactory(),
        device=DeviceFactory(),
        dial_plan=DialPlanFactory(),
        user=UserFactory(),
    )
    ApiSettings.objects.create(allow_api=True, api_secret_key=SECRET)
    SystemSettings.load()
    response = staff_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    if name == "dids_did":
        assert did.number in response.content.decode()


def test_the_api_secret_is_masked_in_the_list_and_the_form(staff_client):
    settings_row = ApiSettings.objects.create(allow_api=True, api_secret_key=SECRET)

    listing = staff_client.get(reverse("admin:accounts_apisettings_changelist")).content.decode()
    form = staff_client.get(
        reverse("admin:accounts_apisettings_change", args=[settings_row.pk])
    ).content.decode()

    assert SECRET not in listing
    assert SECRET not in form
    assert "••••••••" in listing


def test_saving_the_form_without_a_new_secret_keeps_it(staff_client):
    row = ApiSettings.objects.create(allow_api=True, api_secret_key=SECRET)
    response = staff_client.post(
        reverse("admin:accounts_apisettings_change", args=[row.pk]),
        {"allow_api": "on", "new_secret_key": "", "disable_hash_checking": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert row.api_secret_key == SECRET


def test_allow_api_without_a_secret_is_refused_in_the_admin(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_apisettings_add"), {"allow_api": "on", "new_secret_key": ""}
    )
    assert response.status_code == 200
    assert "Allow API cannot be switched on without an API Secret Key." in response.content.decode()
    assert not ApiSettings.objects.exists()


def test_portal_roles_do_not_open_the_admin(client, portal_admin):
    """The role decides what the portal shows; only is_staff opens /admin/."""
    client.force_login(portal_admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_new_secret_replaces_the_old_one_and_is_not_shown_back(staff_client):
    row = ApiSettings.objects.create(allow_api=True, api_secret_key=SECRET)
    response = staff_client.post(
        reverse("admin:accounts_apisettings_change", args=[row.pk]),
        {"allow_api": "on", "new_secret_key": "another-secret-1234"},
        follow=True,
    )
    row.refresh_from_db()
    assert row.api_secret_key == "another-secret-1234"
    assert "another-secret-1234" not in response.content.decode()
