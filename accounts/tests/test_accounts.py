"""Accounts: create, edit, reset password; the rules of domain.md, each with its message."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import AuditEntry, User

STRONG = "violet-harbour-42"


def account_data(**overrides) -> dict[str, str]:
    data = {
        "username": "gina",
        "first_name": "Gina",
        "last_name": "Gateway",
        "email": "gina@example.com",
        "role": User.Role.RESELLER,
        "owner": "",
        "accountant_group": "",
        "api_permission_group": "",
        "is_active": "on",
        "password": STRONG,
        "password_confirm": STRONG,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(account: User, **overrides) -> dict[str, str]:
    data = {
        "username": account.username,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "email": account.email,
        "role": account.role,
        "owner": account.owner_id or "",
        "accountant_group": account.accountant_group_id or "",
        "api_permission_group": account.api_permission_group_id or "",
    }
    for flag in (
        "api_restricted",
        "own_providers",
        "is_system_administrator",
        "is_active",
    ):
        if getattr(account, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def snapshot_rows() -> list[tuple]:
    return list(User.objects.order_by("pk").values_list())


def test_admin_creates_a_reseller_with_a_password(client, portal_admin):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:account_create"), account_data())
    gina = User.objects.get(username="gina")
    assert response.status_code == 302
    # "Save" leads back to the list, as in the Django admin.
    assert response.url == reverse("accounts:account_list")
    assert gina.role == User.Role.RESELLER
    assert gina.check_password(STRONG)
    entry = AuditEntry.objects.get(object_type="account", object_id=str(gina.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == portal_admin
    assert {"field": "Role", "old": "—", "new": "Reseller"} in entry.changes
    assert {"field": "Password", "note": "password set"} in entry.changes
    assert STRONG not in str(entry.changes)


def test_new_password_goes_through_the_validators(client, portal_admin):
    client.force_login(portal_admin)
    rows = snapshot_rows()
    response = client.post(
        reverse("accounts:account_create"),
        account_data(password="12345678", password_confirm="12345678"),
    )
    assert response.status_code == 200
    assert errors_of(response)["password"] == [
        "This password is too short. It must contain at least 10 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]
    assert snapshot_rows() == rows
    assert not AuditEntry.objects.exists()


def test_passwords_must_match(client, portal_admin):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_create"), account_data(password_confirm=STRONG + "x")
    )
    assert errors_of(response) == {"password_confirm": ["The two passwords do not match."]}
    assert not User.objects.filter(username="gina").exists()


def test_mismatched_passwords_do_not_hide_the_other_mistakes(client, portal_admin, reseller):
    """One round shows everything to correct, as the Django admin's own add form does."""
    client.force_login(portal_admin)
    rows = snapshot_rows()
    response = client.post(
        reverse("accounts:account_create"),
        account_data(
            username="charlie",
            role=User.Role.ACCOUNTANT,
            owner=reseller.pk,
            own_providers="on",
            password="12345678",
            password_confirm="123456789",
        ),
    )
    assert response.status_code == 200
    assert errors_of(response) == {
        "password_confirm": ["The two passwords do not match."],
        "username": ["A user with that username already exists."],
        "owner": ["Only users can be owned by a reseller."],
        "own_providers": ["Only resellers can be Reseller PRO."],
        "password": [
            "This password is too short. It must contain at least 10 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ],
    }
    assert snapshot_rows() == rows
    assert not AuditEntry.objects.exists()


def test_username_is_unique(client, portal_admin, reseller):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:account_create"), account_data(username="charlie"))
    assert errors_of(response) == {"username": ["A user with that username already exists."]}


def test_only_users_can_be_owned_by_a_reseller(client, portal_admin, reseller):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_create"),
        account_data(role=User.Role.ACCOUNTANT, owner=reseller.pk),
    )
    assert errors_of(response) == {"owner": ["Only users can be owned by a reseller."]}
    assert not User.objects.filter(username="gina").exists()


def test_admin_creates_a_user_owned_by_a_reseller(client, portal_admin, reseller):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:account_create"), account_data(role=User.Role.USER, owner=reseller.pk)
    )
    assert User.objects.get(username="gina").owner == reseller


def test_the_owner_must_be_a_reseller(portal_admin, other_admin, end_user):
    rows = snapshot_rows()
    with pytest.raises(ValidationError) as raised:
        services.user_update(by=portal_admin, user=end_user, fields={"owner": other_admin})
    assert raised.value.message_dict == {"owner": ["The owner must be a reseller."]}
    assert snapshot_rows() == rows


def test_the_form_offers_only_resellers_as_owners(client, portal_admin, other_admin, end_user):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[end_user.pk]),
        edit_data(end_user, owner=other_admin.pk),
    )
    assert errors_of(response) == {
        "owner": ["Select a valid choice. That choice is not one of the available choices."]
    }
    end_user.refresh_from_db()
    assert end_user.owner is None


@pytest.mark.parametrize("role", [User.Role.ADMIN, User.Role.RESELLER])
def test_only_users_and_accountants_can_be_api_restricted(client, portal_admin, role):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_create"), account_data(role=role, api_restricted="on")
    )
    assert errors_of(response) == {
        "api_restricted": ["Only users and accountants can be API restricted."]
    }
    assert not User.objects.filter(username="gina").exists()


def test_accountant_can_be_api_restricted_with_a_group(
    client, portal_admin, did_readers, dids_get_group
):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:account_create"),
        account_data(
            role=User.Role.ACCOUNTANT,
            api_restricted="on",
            accountant_group=did_readers.pk,
            api_permission_group=dids_get_group.pk,
        ),
    )
    gina = User.objects.get(username="gina")
    assert gina.api_restricted
    assert gina.accountant_group == did_readers
    assert gina.api_permission_group == dids_get_group


def test_only_accountants_belong_to_an_accountant_group(
    client, portal_admin, reseller, did_readers
):
    client.force_login(portal_admin)
    rows = snapshot_rows()
    response = client.post(
        reverse("accounts:account_edit", args=[reseller.pk]),
        edit_data(reseller, accountant_group=did_readers.pk),
    )
    assert errors_of(response) == {
        "accountant_group": ["Only accountants belong to an accountant group."]
    }
    assert snapshot_rows() == rows


def test_only_resellers_can_be_reseller_pro(client, portal_admin, end_user):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[end_user.pk]),
        edit_data(end_user, own_providers="on"),
    )
    assert errors_of(response) == {"own_providers": ["Only resellers can be Reseller PRO."]}
    end_user.refresh_from_db()
    assert not end_user.own_providers


def test_admin_edits_role_and_it_is_audited(client, portal_admin, end_user):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[end_user.pk]),
        edit_data(end_user, role=User.Role.RESELLER, own_providers="on"),
    )
    assert response.status_code == 302
    end_user.refresh_from_db()
    assert end_user.role == User.Role.RESELLER
    assert end_user.own_providers
    entry = AuditEntry.objects.get(object_id=str(end_user.pk))
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.changes == [
        {"field": "Role", "old": "User", "new": "Reseller"},
        {"field": "Reseller PRO", "old": "no", "new": "yes"},
    ]


def test_saving_without_changes_records_nothing(client, portal_admin, end_user):
    client.force_login(portal_admin)
    client.post(reverse("accounts:account_edit", args=[end_user.pk]), edit_data(end_user))
    assert not AuditEntry.objects.exists()


def test_setting_the_system_administrator_moves_the_designation(client, portal_admin, other_admin):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[other_admin.pk]),
        edit_data(other_admin, is_system_administrator="on"),
    )
    assert response.status_code == 302
    assert list(User.objects.filter(is_system_administrator=True)) == [other_admin]
    changes = {
        entry.object_repr: entry.changes
        for entry in AuditEntry.objects.filter(object_type="account")
    }
    assert changes == {
        "alice": [{"field": "System administrator", "old": "yes", "new": "no"}],
        "arthur": [{"field": "System administrator", "old": "no", "new": "yes"}],
    }


def test_a_new_admin_can_take_the_system_administrator_designation(client, portal_admin):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:account_create"),
        account_data(role=User.Role.ADMIN, is_system_administrator="on"),
    )
    assert list(User.objects.filter(is_system_administrator=True)) == [
        User.objects.get(username="gina")
    ]


def test_the_system_administrator_must_be_an_admin(client, portal_admin, reseller):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[reseller.pk]),
        edit_data(reseller, is_system_administrator="on"),
    )
    assert errors_of(response) == {
        "is_system_administrator": ["Only an admin can be the system administrator."]
    }
    assert list(User.objects.filter(is_system_administrator=True)) == [portal_admin]


def test_the_system_administrator_is_moved_not_removed(client, portal_admin, other_admin):
    client.force_login(other_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[portal_admin.pk]),
        edit_data(portal_admin, is_system_administrator=None),
    )
    assert errors_of(response) == {
        "is_system_administrator": ["Make another admin the system administrator instead."]
    }
    portal_admin.refresh_from_db()
    assert portal_admin.is_system_administrator


def test_admin_cannot_demote_or_deactivate_themselves(client, portal_admin):
    client.force_login(portal_admin)
    portal_admin.is_system_administrator = False
    portal_admin.save()
    response = client.post(
        reverse("accounts:account_edit", args=[portal_admin.pk]),
        edit_data(portal_admin, role=User.Role.USER, is_active=None),
    )
    assert errors_of(response) == {
        "role": ["You cannot take away your own admin role."],
        "is_active": ["You cannot deactivate your own account."],
    }
    portal_admin.refresh_from_db()
    assert portal_admin.is_admin
    assert portal_admin.is_active


def test_a_reseller_that_owns_accounts_keeps_its_role(
    client, portal_admin, reseller, reseller_user
):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_edit", args=[reseller.pk]),
        edit_data(reseller, role=User.Role.USER),
    )
    assert errors_of(response) == {
        "role": ["This reseller owns accounts: give them another owner first."]
    }
    reseller.refresh_from_db()
    assert reseller.is_reseller


def test_editing_an_unknown_account_is_not_found(client, portal_admin):
    client.force_login(portal_admin)
    assert client.get(reverse("accounts:account_edit", args=[999999])).status_code == 404


def test_admin_resets_a_password(client, portal_admin, reseller):
    client.force_login(portal_admin)
    response = client.post(
        reverse("accounts:account_password", args=[reseller.pk]),
        {"password": STRONG, "password_confirm": STRONG},
    )
    assert response.status_code == 302
    reseller.refresh_from_db()
    assert reseller.check_password(STRONG)
    entry = AuditEntry.objects.get()
    assert entry.changes == [{"field": "Password", "note": "password changed"}]


def test_a_weak_reset_password_is_refused(client, portal_admin, reseller):
    client.force_login(portal_admin)
    before = User.objects.get(pk=reseller.pk).password
    response = client.post(
        reverse("accounts:account_password", args=[reseller.pk]),
        {"password": "charlie", "password_confirm": "charlie"},
    )
    assert errors_of(response)["password"][0] == ("The password is too similar to the username.")
    assert User.objects.get(pk=reseller.pk).password == before
    assert not AuditEntry.objects.exists()


def test_admin_changing_own_password_stays_signed_in(client, portal_admin):
    client.force_login(portal_admin)
    client.post(
        reverse("accounts:account_password", args=[portal_admin.pk]),
        {"password": STRONG, "password_confirm": STRONG},
    )
    assert client.get(reverse("accounts:account_list")).status_code == 200


def test_admin_lists_searches_and_filters_accounts(
    client, portal_admin, reseller, other_reseller, end_user
):
    client.force_login(portal_admin)
    names = lambda response: [a.username for a in response.context["page_obj"]]  # noqa: E731
    assert names(client.get(reverse("accounts:account_list"))) == [
        "alice",
        "charlie",
        "dave",
        "frank",
    ]
    assert names(client.get(reverse("accounts:account_list"), {"role": "reseller"})) == [
        "charlie",
        "dave",
    ]
    assert names(client.get(reverse("accounts:account_list"), {"q": "wholesale"})) == ["dave"]
    assert ">Owner</a></div></th>" in client.get(reverse("accounts:account_list")).content.decode()


def test_reseller_lists_only_its_own_users(
    client, reseller, reseller_user, other_reseller, end_user
):
    from portal.testing.factories import UserFactory

    UserFactory(username="olga", role=User.Role.USER, owner=other_reseller)
    client.force_login(reseller)
    response = client.get(reverse("accounts:account_list"))
    assert [a.username for a in response.context["page_obj"]] == ["erin"]
    body = response.content.decode()
    assert "olga" not in body
    assert "frank" not in body
    # Read-only: no links to the admin's edit pages; each user leads to its DIDs instead.
    assert reverse("accounts:account_edit", args=[reseller_user.pk]) not in body
    dids_of_erin = f"/dids/?search_user={reseller_user.pk}"
    assert f'<a href="{dids_of_erin}" title="The DIDs of Erin Customer">erin</a>' in body
    # Every row's owner is the reseller itself: no Owner column to repeat it.
    assert ">Owner</a></div></th>" not in body
    assert ">Username</a></div></th>" in body
    # Filtering by role cannot widen the list.
    response = client.get(reverse("accounts:account_list"), {"role": "user", "q": "olga"})
    assert [a.username for a in response.context["page_obj"]] == []


def test_account_list_pages_with_the_viewers_page_size(client, portal_admin):
    from portal.testing.factories import UserFactory

    UserFactory.create_batch(5, role=User.Role.USER)
    portal_admin.items_per_page = 2
    portal_admin.save()
    client.force_login(portal_admin)
    response = client.get(reverse("accounts:account_list"), {"page": 2})
    assert len(response.context["page_obj"]) == 2
    assert response.context["page_obj"].paginator.num_pages == 3


@pytest.mark.parametrize(
    "persona", ["portal_admin", "accountant_without_right", "reseller", "end_user"]
)
def test_every_role_changes_its_own_password(client, request, persona):
    account = request.getfixturevalue(persona)
    client.force_login(account)
    response = client.post(
        reverse("accounts:own_password"),
        {
            "current_password": "correct-horse-battery",
            "password": STRONG,
            "password_confirm": STRONG,
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.check_password(STRONG)
    # Still signed in after the change.
    assert client.get(reverse("accounts:own_password")).status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.changes) == (
        account,
        [{"field": "Password", "note": "password changed"}],
    )


def test_own_password_needs_the_current_one_and_the_validators(client, reseller):
    client.force_login(reseller)
    before = User.objects.get(pk=reseller.pk).password
    response = client.post(
        reverse("accounts:own_password"),
        {"current_password": "wrong", "password": "short", "password_confirm": "short"},
    )
    assert errors_of(response) == {
        "current_password": ["Your current password was entered incorrectly."]
    }
    response = client.post(
        reverse("accounts:own_password"),
        {
            "current_password": "correct-horse-battery",
            "password": "short",
            "password_confirm": "short",
        },
    )
    assert errors_of(response) == {
        "password": ["This password is too short. It must contain at least 10 characters."]
    }
    assert User.objects.get(pk=reseller.pk).password == before
    assert not AuditEntry.objects.exists()


def test_anonymous_cannot_change_a_password(client):
    response = client.post(reverse("accounts:own_password"), {})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_createsuperuser_makes_a_portal_admin_and_the_system_administrator(db):
    first = User.objects.create_superuser("root", "root@example.com", STRONG)
    second = User.objects.create_superuser("root2", "root2@example.com", STRONG)
    assert (first.role, first.is_system_administrator, first.is_staff) == ("admin", True, True)
    assert (second.role, second.is_system_administrator) == ("admin", False)
