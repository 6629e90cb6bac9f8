"""The data model: display helpers and the constraints the database itself enforces."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import ApiSettings, SystemSettings, User, display_name
from dids.models import Device, DialPlan, Did, device_display, display_name_sql
from portal.testing.factories import DidFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("first", "last", "username", "shown"),
    [
        ("Test", "Reseller", "r1", "Test Reseller"),
        ("", "Reseller", "r1", "Reseller"),
        ("Test", "", "r1", "Test"),
        ("", "", "r1", "r1"),
        ("  Ann ", "", "r1", "Ann"),
    ],
)
def test_display_name_is_first_and_last_trimmed_else_username(first, last, username, shown):
    assert display_name(first, last, username) == shown


def test_the_sql_display_name_agrees_with_python(portal_admin):
    """search_did_owner filters on the SQL twin; both must give the same text."""
    names = [("  Ann ", "Lee"), ("", ""), ("", "Solo"), ("Übel", "Ölmann"), ("A", " ")]
    for index, (first, last) in enumerate(names):
        user = UserFactory(username=f"u{index}", first_name=first, last_name=last)
        DidFactory(number=f"5{index}", user=user)
    for did in Did.objects.with_owner_name():
        assert did.owner_name == did.user.display_name
    # Through a LEFT JOIN that found no row (no reseller): no name at all, not "".
    shown = Did.objects.annotate(shown=display_name_sql("reseller__")).values_list(
        "shown", flat=True
    )
    assert set(shown) == {None}


@pytest.mark.parametrize(
    ("type_", "name", "extension", "shown"),
    [
        ("IAX2", "105", "105", "IAX2/105"),
        ("SIP", "acme-pbx", "201", "SIP/acme-pbx"),
        ("FAX", "fax-1", "302", "FAX/302"),
        ("SIP", "", "777", "SIP/777"),
    ],
)
def test_device_shows_type_slash_name_or_extension(type_, name, extension, shown):
    assert device_display(type_, name, extension) == shown
    assert str(Device(type=type_, name=name, extension=extension)) == shown


def test_dial_plan_shows_name_and_type():
    assert str(DialPlan(name="testDialPlan", type="authbypin")) == "testDialPlan (authbypin)"


def test_did_labels():
    did = Did(number="1", status=Did.Status.CLOSED, call_limit=0)
    assert (did.status_label, did.call_limit_display) == ("Closed", "Unlimited")
    did.call_limit = 7
    assert did.call_limit_display == "7"


def test_comment_side_follows_the_viewer(portal_admin, reseller, reseller_user, end_user):
    did = Did(comment="main", reseller_comment="resold")
    assert did.comment_for(portal_admin) == "main"
    assert did.comment_for(end_user) == "main"
    assert did.comment_for(reseller) == "resold"
    assert did.comment_for(reseller_user) == "resold"


def test_the_owner_shown_for_each_kind_of_did(portal_admin, reseller, reseller_user):
    DidFactory(number="1")
    DidFactory(number="2", reseller=reseller)
    DidFactory(number="3", reseller=reseller, user=reseller_user)
    shown = dict(Did.objects.with_owner_name().values_list("number", "owner_name"))
    assert shown == {"1": "Alice Admin", "2": None, "3": "Erin Customer"}


def test_without_a_system_administrator_the_owner_is_empty(db):
    DidFactory(number="1")
    assert Did.objects.with_owner_name().get().owner_name == ""


def test_did_numbers_are_unique(db):
    DidFactory(number="37060000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        DidFactory(number="37060000001")


def test_the_database_refuses_an_invalid_status(db):
    did = DidFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Did.objects.filter(pk=did.pk).update(status="sold")


def test_the_database_refuses_an_invalid_role(db):
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(role="superhero")


def test_only_one_system_administrator(portal_admin):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role=User.Role.ADMIN, is_system_administrator=True)


@pytest.mark.parametrize("role", [User.Role.ADMIN, User.Role.RESELLER])
def test_only_users_and_accountants_can_be_api_restricted(role):
    account = User(username="x", role=role, api_restricted=True)
    with pytest.raises(ValidationError, match="Only users and accountants"):
        account.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role=role, api_restricted=True)


def test_one_api_settings_row_for_the_system_and_per_reseller(reseller):
    ApiSettings.objects.create(reseller=None)
    ApiSettings.objects.create(reseller=reseller)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiSettings.objects.create(reseller=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiSettings.objects.create(reseller=reseller)


def test_missing_api_settings_are_the_safe_defaults(reseller):
    system = ApiSettings.objects.system()
    own = ApiSettings.objects.for_reseller(reseller)
    for settings_row in (system, own):
        assert settings_row.pk is None
        assert (settings_row.allow_api, settings_row.api_secret_key) == (False, "")


def test_allow_api_needs_a_secret():
    with pytest.raises(ValidationError, match="without an API Secret Key"):
        ApiSettings(allow_api=True, api_secret_key="").full_clean()


def test_days_for_did_close_defaults_to_90_and_stays_in_range(db):
    assert SystemSettings.load().days_for_did_close == 90
    with pytest.raises(ValidationError):
        SystemSettings(pk=1, days_for_did_close=1001).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        SystemSettings.objects.filter(pk=1).update(days_for_did_close=1001)


def test_rights_and_methods_default_to_none_and_disabled(no_rights):
    from portal.testing.factories import ApiPermissionGroupFactory

    assert no_rights.manage_dids == "none"
    assert ApiPermissionGroupFactory().method("dids_get") == "disabled"
    assert not ApiPermissionGroupFactory().allows("dids_get")


def test_unknown_rights_are_refused(no_rights):
    no_rights.rights = {"launch_rockets": "write"}
    with pytest.raises(ValidationError, match="Unknown name 'launch_rockets'"):
        no_rights.full_clean()
    no_rights.rights = {"manage_dids": "admin"}
    with pytest.raises(ValidationError, match="'admin' is not one of none, read, write"):
        no_rights.full_clean()
