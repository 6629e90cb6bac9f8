"""The audit log: written for changes from the portal and the Django admin, read-only."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import AuditEntry, User
from portal.testing.factories import ApiSettingsFactory


@pytest.fixture
def superuser(portal_admin):
    portal_admin.is_staff = True
    portal_admin.is_superuser = True
    portal_admin.save()
    return portal_admin


def test_audit_log_page_lists_entries_newest_first(client, portal_admin, reseller):
    services.system_settings_update(by=portal_admin, days_for_did_close=30)
    services.user_update(by=portal_admin, user=reseller, fields={"own_providers": True})
    client.force_login(portal_admin)
    response = client.get(reverse("accounts:audit_log"))
    rows = [(r["entry"].object_repr, r["changes"]) for r in response.context["entries"]]
    assert rows == [
        ("charlie", ["Reseller PRO: no → yes"]),
        ("System settings", ["Days for DID close: 90 → 30"]),
    ]
    body = response.content.decode()
    assert "Reseller PRO: no → yes" in body
    assert "alice" in body


def test_audit_log_filters_by_object_type(client, portal_admin, reseller):
    services.system_settings_update(by=portal_admin, days_for_did_close=30)
    services.user_update(by=portal_admin, user=reseller, fields={"own_providers": True})
    client.force_login(portal_admin)
    response = client.get(reverse("accounts:audit_log"), {"type": "system settings"})
    assert [r["entry"].object_repr for r in response.context["entries"]] == ["System settings"]


def test_django_admin_changes_are_audited(client, superuser, reseller):
    client.force_login(superuser)
    settings = ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="old-key")
    response = client.post(
        f"/admin/accounts/apisettings/{settings.pk}/change/",
        {"reseller": reseller.pk, "allow_api": "on", "new_secret_key": "new-key-value"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert entry.actor == superuser
    assert entry.changes == [
        {"field": "Allow API", "old": "no", "new": "yes"},
        {"field": "API Secret Key", "note": "secret changed"},
    ]


def test_django_admin_password_change_is_audited(client, superuser, reseller):
    client.force_login(superuser)
    response = client.post(
        f"/admin/accounts/user/{reseller.pk}/password/",
        {"password1": "Plenty-Long-Pass-9", "password2": "Plenty-Long-Pass-9"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.get().changes == [{"field": "Password", "note": "password changed"}]
    assert "Plenty-Long-Pass-9" not in str(AuditEntry.objects.get().changes)


def test_audit_entries_are_read_only_in_the_django_admin(client, superuser, reseller):
    services.user_update(by=superuser, user=reseller, fields={"own_providers": True})
    entry = AuditEntry.objects.get()
    client.force_login(superuser)
    listing = client.get("/admin/accounts/auditentry/")
    assert listing.status_code == 200
    assert "charlie" in listing.content.decode()
    detail = client.get(f"/admin/accounts/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert "Reseller PRO: no → yes" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert client.get("/admin/accounts/auditentry/add/").status_code == 403
    assert (
        client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    client.post(f"/admin/accounts/auditentry/{entry.pk}/change/", {"actor_name": "mallory"})
    entry.refresh_from_db()
    assert entry.actor_name == "alice"
    assert AuditEntry.objects.count() == 1


def test_entries_keep_the_actors_name_when_the_actor_goes(portal_admin, other_admin, end_user):
    services.user_update(by=other_admin, user=end_user, fields={"first_name": "Franz"})
    User.objects.filter(pk=other_admin.pk).delete()
    entry = AuditEntry.objects.get()
    assert entry.actor is None
    assert entry.actor_name == "arthur"
    assert str(entry) == "arthur changed frank"
