"""A saved API secret key never comes back: not in pages, the Django admin or the logs."""

import logging

import pytest
from django.urls import reverse

from accounts.models import ApiSettings, AuditEntry
from dids.api.testing import rows_of
from portal.testing.factories import ApiSettingsFactory, DidFactory

SYSTEM_SECRET = "system-SECRET-value-0xA1"
RESELLER_SECRET = "reseller-SECRET-value-0xB2"


@pytest.fixture
def staff_admin(portal_admin):
    portal_admin.is_staff = True
    portal_admin.is_superuser = True
    portal_admin.save()
    return portal_admin


def pages_to_check(reseller) -> list[str]:
    settings = ApiSettings.objects.for_reseller(reseller)
    system = ApiSettings.objects.system()
    entry = AuditEntry.objects.first()
    return [
        reverse("accounts:api_settings"),
        reverse("accounts:reseller_api_settings", args=[reseller.pk]),
        reverse("accounts:account_list"),
        reverse("accounts:account_edit", args=[reseller.pk]),
        reverse("accounts:accountant_group_list"),
        reverse("accounts:api_group_list"),
        reverse("accounts:system_settings"),
        reverse("accounts:audit_log"),
        reverse("accounts:hash_tool"),
        "/admin/accounts/apisettings/",
        f"/admin/accounts/apisettings/{settings.pk}/change/",
        f"/admin/accounts/apisettings/{system.pk}/change/",
        "/admin/accounts/auditentry/",
        f"/admin/accounts/auditentry/{entry.pk}/change/",
        "/admin/",
    ]


def test_secrets_never_appear_after_saving(client, staff_admin, reseller, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(staff_admin)
    # Set both secrets through the GUI; each is shown once, in that response only.
    first = client.post(
        reverse("accounts:api_settings"), {"allow_api": "on", "new_secret": SYSTEM_SECRET}
    )
    assert SYSTEM_SECRET in first.content.decode()
    first = client.post(
        reverse("accounts:reseller_api_settings", args=[reseller.pk]),
        {"allow_api": "on", "new_secret": RESELLER_SECRET},
    )
    assert RESELLER_SECRET in first.content.decode()
    # Change them again through the Django admin, so its forms and history are covered too.
    settings = ApiSettings.objects.for_reseller(reseller)
    response = client.post(
        f"/admin/accounts/apisettings/{settings.pk}/change/",
        {
            "reseller": reseller.pk,
            "allow_api": "on",
            "new_secret_key": RESELLER_SECRET + "-2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ApiSettings.objects.for_reseller(reseller).api_secret_key == RESELLER_SECRET + "-2"

    for url in pages_to_check(reseller):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in (SYSTEM_SECRET, RESELLER_SECRET):
            assert secret not in body, url
    # The hash tool's answers (a POST form).
    for data in (
        {"request": "u=alice&user_id=1"},
        {"request": "u=charlie", "settings_of": reseller.pk},
    ):
        response = client.post(reverse("accounts:hash_tool"), data)
        assert response.status_code == 200
        assert response.context["result"]["hash"]
        body = response.content.decode()
        for secret in (SYSTEM_SECRET, RESELLER_SECRET):
            assert secret not in body, data
    assert "secret changed" in client.get(reverse("accounts:audit_log")).content.decode()

    # The reseller's own pages.
    client.force_login(reseller)
    for url in (reverse("accounts:api_settings"), reverse("accounts:hash_tool")):
        body = client.get(url).content.decode()
        assert RESELLER_SECRET not in body
    response = client.post(reverse("accounts:hash_tool"), {"request": "u"})
    assert response.context["result"]["hash"]
    assert RESELLER_SECRET not in response.content.decode()

    for entry in AuditEntry.objects.all():
        assert SYSTEM_SECRET not in str(entry.changes)
        assert RESELLER_SECRET not in str(entry.changes)
    for record in caplog.records:
        text = record.getMessage()
        assert SYSTEM_SECRET not in text
        assert RESELLER_SECRET not in text


def test_api_calls_do_not_log_the_secret(client, caplog, portal_admin):
    caplog.set_level(logging.DEBUG)
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key=SYSTEM_SECRET)
    DidFactory()
    import hashlib

    good = hashlib.sha1(SYSTEM_SECRET.encode()).hexdigest()
    assert rows_of(client.post("/billing/api/dids_get", {"u": "alice", "hash": good}))
    client.post("/billing/api/dids_get", {"u": "alice", "hash": "0" * 40})
    for record in caplog.records:
        assert SYSTEM_SECRET not in record.getMessage()
