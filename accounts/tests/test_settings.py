"""System and reseller API settings, Days for DID close."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import ApiSettings, AuditEntry, SystemSettings
from portal.testing.factories import ApiSettingsFactory

ALLOW_API_NEEDS_SECRET = "Allow API cannot be switched on without an API Secret Key."


def form_errors(response) -> dict:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def test_allow_api_cannot_be_switched_on_without_a_secret(client, portal_admin):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:api_settings"), {"allow_api": "on"})
    assert response.status_code == 200
    assert form_errors(response) == {"allow_api": [ALLOW_API_NEEDS_SECRET]}
    assert not ApiSettings.objects.exists()
    assert not AuditEntry.objects.exists()


def test_removing_the_secret_while_the_api_is_allowed_is_refused(client, portal_admin, system_api):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_settings"), {"allow_api": "on", "remove_secret": "on"}
    )
    assert form_errors(response) == {"allow_api": [ALLOW_API_NEEDS_SECRET]}
    system_api.refresh_from_db()
    assert system_api.api_secret_key == "secret"
    assert system_api.allow_api


def test_admin_sets_system_settings_and_sees_the_secret_once(client, portal_admin):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_settings"),
        {"allow_api": "on", "allow_get_api": "on", "new_secret": "s3cr3t-for-the-system"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert 'value="s3cr3t-for-the-system"' in body
    assert "it is not shown again" in body
    saved = ApiSettings.objects.system()
    assert (saved.allow_api, saved.allow_get_api, saved.api_secret_key) == (
        True,
        True,
        "s3cr3t-for-the-system",
    )
    # Afterwards only masked.
    again = client.get(reverse("accounts:api_settings")).content.decode()
    assert "s3cr3t-for-the-system" not in again
    assert saved.masked_secret in again
    entry = AuditEntry.objects.get()
    assert entry.object_repr == "API settings of the system"
    assert entry.changes == [
        {"field": "Allow API", "old": "—", "new": "yes"},
        {"field": "Allow GET API", "old": "—", "new": "yes"},
        {"field": "API Secret Key", "note": "secret set"},
        {"field": "Disable hash checking", "old": "—", "new": "no"},
    ]


def test_generating_a_strong_secret(client, portal_admin, system_api):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_settings"), {"allow_api": "on", "generate_secret": "on"}
    )
    system_api.refresh_from_db()
    assert system_api.api_secret_key != "secret"
    assert len(system_api.api_secret_key) >= 43  # 32 random bytes, URL-safe base64
    assert f'value="{system_api.api_secret_key}"' in response.content.decode()
    assert AuditEntry.objects.get().changes == [
        {"field": "API Secret Key", "note": "secret changed"}
    ]


def test_secret_choices_are_exclusive(client, portal_admin, system_api):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_settings"),
        {"allow_api": "on", "generate_secret": "on", "new_secret": "typed-one"},
    )
    assert response.context["form"].non_field_errors() == [
        "Choose one: type a new secret key, generate one, or remove it."
    ]
    system_api.refresh_from_db()
    assert system_api.api_secret_key == "secret"


def test_saving_without_a_new_secret_keeps_it(client, portal_admin, system_api):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_settings"), {"allow_api": "on", "disable_hash_checking": "on"}
    )
    assert response.status_code == 302
    system_api.refresh_from_db()
    assert system_api.api_secret_key == "secret"
    assert system_api.disable_hash_checking


def test_reseller_sets_its_own_settings_without_allow_get_api(client, reseller, system_api):
    client.force_login(reseller)
    page = client.get(reverse("accounts:api_settings"))
    assert "allow_get_api" not in page.context["form"].fields
    response = client.post(
        reverse("accounts:api_settings"),
        {"allow_api": "on", "allow_get_api": "on", "new_secret": "charlies-secret"},
    )
    assert response.status_code == 200
    mine = ApiSettings.objects.for_reseller(reseller)
    assert (mine.allow_api, mine.allow_get_api, mine.api_secret_key) == (
        True,
        False,
        "charlies-secret",
    )
    # The system's settings are untouched.
    system_api.refresh_from_db()
    assert (system_api.allow_get_api, system_api.api_secret_key) == (False, "secret")


def test_reseller_cannot_reach_another_resellers_settings(client, reseller, other_reseller):
    ApiSettingsFactory(reseller=other_reseller, api_secret_key="daves-secret")
    client.force_login(reseller)
    response = client.get(reverse("accounts:reseller_api_settings", args=[other_reseller.pk]))
    assert response.status_code == 403
    client.post(reverse("accounts:api_settings"), {"remove_secret": "on"})
    assert ApiSettings.objects.for_reseller(other_reseller).api_secret_key == "daves-secret"


def test_admin_sets_a_resellers_settings(client, portal_admin, reseller):
    client.force_login(portal_admin)
    url = reverse("accounts:reseller_api_settings", args=[reseller.pk])
    response = client.post(url, {"allow_api": "on", "new_secret": "charlies-secret"})
    assert response.status_code == 200
    assert ApiSettings.objects.for_reseller(reseller).api_secret_key == "charlies-secret"
    assert not ApiSettings.objects.filter(reseller__isnull=True).exists()


def test_only_resellers_have_api_settings(client, portal_admin, end_user):
    client.force_login(portal_admin)
    url = reverse("accounts:reseller_api_settings", args=[end_user.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"new_secret": "x"}).status_code == 404
    assert not ApiSettings.objects.exists()


def test_allow_get_api_is_a_system_setting_only(portal_admin, reseller):
    with pytest.raises(ValueError, match="system setting only"):
        services.api_settings_update(
            by=portal_admin,
            reseller=reseller,
            allow_api=False,
            disable_hash_checking=False,
            allow_get_api=True,
        )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("1001", "Ensure this value is less than or equal to 1000."),
        ("ten", "Enter a whole number."),
    ],
)
def test_days_for_did_close_is_0_to_1000(client, portal_admin, value, error):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:system_settings"), {"days_for_did_close": value})
    assert form_errors(response) == {"days_for_did_close": [error]}
    assert SystemSettings.load().days_for_did_close == 90
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("value", [0, 1000])
def test_days_for_did_close_bounds_are_accepted(client, portal_admin, value):
    client.force_login(portal_admin)
    client.post(reverse("accounts:system_settings"), {"days_for_did_close": str(value)})
    assert SystemSettings.load().days_for_did_close == value
    assert AuditEntry.objects.get().changes == [
        {"field": "Days for DID close", "old": "90", "new": str(value)}
    ]


def test_resellers_can_add_their_own_dids_is_off_by_default(client, portal_admin):
    client.force_login(portal_admin)
    form = client.get(reverse("accounts:system_settings")).context["form"]
    assert form["resellers_can_add_their_own_dids"].value() is False
    assert SystemSettings.load().resellers_can_add_their_own_dids is False


def test_admin_switches_resellers_can_add_their_own_dids_on_and_off(client, portal_admin):
    client.force_login(portal_admin)
    url = reverse("accounts:system_settings")
    client.post(url, {"days_for_did_close": "90", "resellers_can_add_their_own_dids": "on"})
    assert SystemSettings.load().resellers_can_add_their_own_dids is True
    assert client.get(url).context["form"]["resellers_can_add_their_own_dids"].value() is True
    client.post(url, {"days_for_did_close": "90"})  # an unticked checkbox is not sent
    assert SystemSettings.load().resellers_can_add_their_own_dids is False
    assert [entry.changes for entry in AuditEntry.objects.order_by("id")] == [
        [{"field": "Resellers can add their own DIDs", "old": "no", "new": "yes"}],
        [{"field": "Resellers can add their own DIDs", "old": "yes", "new": "no"}],
    ]


def test_only_admins_change_resellers_can_add_their_own_dids(client, reseller):
    client.force_login(reseller)
    url = reverse("accounts:system_settings")
    response = client.post(
        url, {"days_for_did_close": "90", "resellers_can_add_their_own_dids": "on"}
    )
    assert response.status_code == 403
    assert SystemSettings.load().resellers_can_add_their_own_dids is False
