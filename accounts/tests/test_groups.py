"""Accountant groups and API permission groups: CRUD with a level per right or method."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import (
    API_METHODS,
    AccountantGroup,
    ApiPermissionGroup,
    AuditEntry,
    Level,
    MethodRight,
)
from portal.testing.factories import UserFactory


def test_admin_creates_an_accountant_group(client, portal_admin):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:accountant_group_create"), {"name": "Billing", "manage_dids": "write"}
    )
    assert response.status_code == 302
    group = AccountantGroup.objects.get(name="Billing")
    assert group.rights == {"manage_dids": Level.WRITE}
    assert AuditEntry.objects.get().changes == [
        {"field": "Name", "old": "—", "new": "Billing"},
        {"field": "Manage DIDs", "old": "—", "new": "Write"},
    ]


def test_accountant_group_form_has_a_level_per_right(client, portal_admin):
    client.force_login(portal_admin)
    form = client.get(reverse("accounts:accountant_group_create")).context["form"]
    assert [(c[0]) for c in form.fields["manage_dids"].choices] == ["none", "read", "write"]
    assert form.initial["manage_dids"] == "none"


def test_unknown_level_is_refused(client, portal_admin, did_readers):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:accountant_group_edit", args=[did_readers.pk]),
        {"name": "DID readers", "manage_dids": "admin"},
    )
    assert response.context["form"].errors == {
        "manage_dids": ["Select a valid choice. admin is not one of the available choices."]
    }
    did_readers.refresh_from_db()
    assert did_readers.rights == {"manage_dids": Level.READ}


def test_group_names_are_unique(client, portal_admin, did_readers, no_rights):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:accountant_group_edit", args=[no_rights.pk]),
        {"name": "DID readers", "manage_dids": "none"},
    )
    assert response.context["form"].errors == {
        "name": ["Accountant group with this Name already exists."]
    }
    no_rights.refresh_from_db()
    assert no_rights.name == "Payroll"


def test_admin_edits_an_accountant_group_and_it_is_audited(client, portal_admin, did_readers):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:accountant_group_edit", args=[did_readers.pk]),
        {"name": "DID writers", "manage_dids": "write"},
    )
    did_readers.refresh_from_db()
    assert did_readers.name == "DID writers"
    assert did_readers.manage_dids == Level.WRITE
    assert AuditEntry.objects.get().changes == [
        {"field": "Name", "old": "DID readers", "new": "DID writers"},
        {"field": "Manage DIDs", "old": "Read", "new": "Write"},
    ]


def test_a_group_with_members_cannot_be_deleted(client, portal_admin, accountant, did_readers):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:accountant_group_delete", args=[did_readers.pk]))
    assert response.status_code == 400
    assert (
        "This group has members: move them to another group before deleting it."
        in response.content.decode()
    )
    assert AccountantGroup.objects.filter(pk=did_readers.pk).exists()
    assert not AuditEntry.objects.exists()


def test_admin_deletes_an_empty_group(client, portal_admin, no_rights):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:accountant_group_delete", args=[no_rights.pk]))
    assert response.status_code == 302
    assert not AccountantGroup.objects.filter(pk=no_rights.pk).exists()
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.DELETE
    assert entry.object_repr == "Payroll"


def test_admin_lists_accountant_groups_with_their_levels(
    client, portal_admin, did_readers, accountant
):
    client.force_login(portal_admin)
    response = client.get(reverse("accounts:accountant_group_list"))
    rows = response.context["rows"]
    assert [(r["group"].name, r["levels"]) for r in rows] == [
        ("DID readers", [("Manage DIDs", "read")])
    ]


def every_method(**levels: str) -> dict[str, str]:
    """A whole API permission group form, as a browser sends it: one level per method."""
    return {name: levels.get(name, MethodRight.DISABLED) for name in API_METHODS}


def test_admin_creates_and_edits_an_api_permission_group(client, portal_admin):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:api_group_create"),
        {"name": "Integrations", **every_method(dids_get="read", did_create="write")},
    )
    group = ApiPermissionGroup.objects.get(name="Integrations")
    assert group.allows("dids_get")
    assert group.allows("did_create")
    assert not group.allows("did_delete")
    client.post(
        reverse("accounts:api_group_edit", args=[group.pk]),
        {"name": "Integrations", **every_method()},
    )
    group.refresh_from_db()
    # Every method of the registry is stored with its level (here all disabled).
    assert group.methods == dict.fromkeys(API_METHODS, MethodRight.DISABLED)
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["create", "update"]


def test_each_method_offers_only_its_own_two_levels(client, portal_admin):
    client.force_login(portal_admin)
    form = client.get(reverse("accounts:api_group_create")).context["form"]
    assert [value for value, _ in form.fields["dids_get"].choices] == ["disabled", "read"]
    for name in API_METHODS:
        if name != "dids_get":
            assert [value for value, _ in form.fields[name].choices] == ["disabled", "write"]
        assert form.initial[name] == "disabled"


@pytest.mark.parametrize(("method", "level"), [("dids_get", "write"), ("did_create", "read")])
def test_a_level_a_method_does_not_take_is_refused(client, portal_admin, method, level):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:api_group_create"),
        {"name": "Bad", **every_method(**{method: level})},
    )
    assert response.status_code == 200
    assert method in response.context["form"].errors
    assert not ApiPermissionGroup.objects.filter(name="Bad").exists()


def test_a_method_left_out_of_the_form_is_an_error_not_a_right(client, portal_admin):
    client.force_login(portal_admin)
    data = every_method(dids_get="read")
    del data["did_delete"]
    response = client.post(reverse("accounts:api_group_create"), {"name": "Partial", **data})
    assert "did_delete" in response.context["form"].errors
    assert not ApiPermissionGroup.objects.filter(name="Partial").exists()


def test_write_levels_are_audited(client, portal_admin):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:api_group_create"),
        {"name": "Provisioning", **every_method(did_device_assign="write")},
    )
    group = ApiPermissionGroup.objects.get(name="Provisioning")
    client.post(
        reverse("accounts:api_group_edit", args=[group.pk]),
        {"name": "Provisioning", **every_method(did_device_assign="write", did_close="write")},
    )
    update = AuditEntry.objects.order_by("id").last()
    assert update.changes == [{"field": "did_close", "old": "Disabled", "new": "Write"}]


def test_api_permission_group_with_members_is_kept(client, portal_admin, dids_get_group, end_user):
    end_user.api_restricted = True
    end_user.api_permission_group = dids_get_group
    end_user.save()
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:api_group_delete", args=[dids_get_group.pk]))
    assert response.status_code == 400
    assert ApiPermissionGroup.objects.filter(pk=dids_get_group.pk).exists()


def test_editing_an_unknown_group_is_not_found(client, portal_admin):
    client.force_login(portal_admin)
    assert client.get(reverse("accounts:api_group_edit", args=[999])).status_code == 404
    assert client.post(reverse("accounts:accountant_group_delete", args=[999])).status_code == 404


def test_the_delete_page_of_a_group_with_members_says_why_and_links_them(
    client, portal_admin, accountant, did_readers
):
    """No delete button without a reason: the page says what blocks it and links each
    member to the account page where its group is changed, and back to the group."""
    for n in range(21):
        UserFactory(username=f"zz{n:02}", role="accountant", accountant_group=did_readers)
    client.force_login(portal_admin)

    response = client.get(reverse("accounts:accountant_group_delete", args=[did_readers.pk]))

    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert (
        "The accountant group “DID readers” cannot be deleted while\n    22 accounts belong"
        " to it.\n    Give them another group first:"
    ) in page
    edit = reverse("accounts:account_edit", args=[accountant.pk])
    assert f'<li><a href="{edit}">bob</a> (Bob Books)</li>' in page
    assert "<li>… and 2 more</li>" in page
    back = reverse("accounts:accountant_group_edit", args=[did_readers.pk])
    assert f'<a href="{back}" class="closelink">Back to the accountant group</a>' in page
    assert 'type="submit"' not in page.split('id="content-main"')[1]
