"""Providers, devices and dial plans: who sees and changes which (domain §1, §3), the
services' validation and audit entries, deleting refused while DIDs use them, and the
pages that do all this."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEntry, User
from dids import catalog
from dids.models import Device, DialPlan, Did, Provider
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


@pytest.fixture
def writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


@pytest.fixture
def pro_reseller(db) -> User:
    return UserFactory(username="percy", role=User.Role.RESELLER, own_providers=True)


@pytest.fixture
def world(reseller, other_reseller, reseller_user, end_user, pro_reseller):
    """One of each kind for the system, for each reseller and each user."""
    dave_user = UserFactory(username="olga", role=User.Role.USER, owner=other_reseller)
    return {
        "system_provider": ProviderFactory(name="Carrier"),
        "pro_provider": ProviderFactory(name="Percy Wholesale", owner=pro_reseller),
        "erin_device": DeviceFactory(type="SIP", name="erin-pbx", user=reseller_user),
        "frank_device": DeviceFactory(type="IAX2", name="frank", user=end_user),
        "olga_device": DeviceFactory(type="SIP", name="olga", user=dave_user),
        "system_plan": DialPlanFactory(name="Main IVR"),
        "charlie_plan": DialPlanFactory(name="Front desk", owner=reseller),
        "dave_plan": DialPlanFactory(name="Dave desk", owner=other_reseller),
    }


def names(queryset) -> set[str]:
    return {str(obj) for obj in queryset}


# --- who sees what ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "providers", "devices", "plans"),
    [
        (
            "portal_admin",
            {"Carrier", "Percy Wholesale"},
            {"SIP/erin-pbx", "IAX2/frank", "SIP/olga"},
            {"Main IVR (ivr)", "Front desk (ivr)", "Dave desk (ivr)"},
        ),
        (
            "accountant",
            {"Carrier", "Percy Wholesale"},
            {"SIP/erin-pbx", "IAX2/frank", "SIP/olga"},
            {"Main IVR (ivr)", "Front desk (ivr)", "Dave desk (ivr)"},
        ),
        ("accountant_without_right", set(), set(), set()),
        ("reseller", set(), {"SIP/erin-pbx"}, {"Front desk (ivr)"}),
        ("pro_reseller", {"Percy Wholesale"}, set(), set()),
        ("reseller_user", set(), {"SIP/erin-pbx"}, set()),
        ("end_user", set(), {"IAX2/frank"}, set()),
    ],
)
def test_each_role_sees_its_own(request, world, persona, providers, devices, plans):
    account = request.getfixturevalue(persona)

    assert names(Provider.objects.visible_to(account)) == providers
    assert names(Device.objects.visible_to(account)) == devices
    assert names(DialPlan.objects.visible_to(account)) == plans


@pytest.mark.parametrize(
    ("persona", "providers", "devices", "plans"),
    [
        ("portal_admin", 2, 3, 3),
        ("writer", 2, 3, 3),
        ("accountant", 0, 0, 0),  # Manage DIDs read: reads, never writes
        ("reseller", 0, 1, 1),
        ("pro_reseller", 1, 0, 0),
        ("reseller_user", 0, 0, 0),
        ("end_user", 0, 0, 0),
    ],
)
def test_each_role_changes_only_what_it_may(request, world, persona, providers, devices, plans):
    account = request.getfixturevalue(persona)

    assert Provider.objects.manageable_by(account).count() == providers
    assert Device.objects.manageable_by(account).count() == devices
    assert DialPlan.objects.manageable_by(account).count() == plans


def test_nobody_signed_out_or_inactive_sees_anything(world, portal_admin):
    from django.contrib.auth.models import AnonymousUser

    portal_admin.is_active = False
    for account in (None, AnonymousUser(), portal_admin):
        assert not Provider.objects.visible_to(account).exists()
        assert not Device.objects.manageable_by(account).exists()
        assert not DialPlan.objects.visible_to(account).exists()


# --- services -----------------------------------------------------------------------


def test_a_reseller_adds_a_device_for_its_own_user_only(world, reseller, reseller_user, end_user):
    device = catalog.device_create(
        by=reseller, type="sip", name="desk", extension="", user=reseller_user
    )

    assert (device.type, device.user) == ("SIP", reseller_user)
    entry = AuditEntry.objects.get(object_type="device", object_id=str(device.pk))
    assert (entry.action, entry.actor) == (AuditEntry.Action.CREATE, reseller)
    assert {"field": "User", "old": "—", "new": "erin"} in entry.changes
    before = Device.objects.count()
    with pytest.raises(ValidationError) as refused:
        catalog.device_create(by=reseller, type="SIP", name="x", user=end_user)
    assert refused.value.message_dict == {"user": ["Choose one of your own users."]}
    assert Device.objects.count() == before


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"type": "", "name": "a"}, {"type": ["Give the device's type, e.g. SIP or IAX2."]}),
        (
            {"type": "S I P", "name": "a"},
            {"type": ["The type is letters and digits, e.g. SIP or IAX2."]},
        ),
        ({"type": "SIP", "name": "", "extension": ""}, {"name": ["Give a name or an extension."]}),
        (
            {"type": "FAX", "name": "fax"},
            {"extension": ["A fax device is shown by its extension: give one."]},
        ),
        ({"type": "SIP", "name": "x" * 101}, {"name": ["The name has at most 100 characters."]}),
    ],
)
def test_a_bad_device_is_refused_with_a_clear_error(world, portal_admin, end_user, values, errors):
    before = list(Device.objects.values())

    with pytest.raises(ValidationError) as refused:
        catalog.device_create(by=portal_admin, user=end_user, **values)

    assert refused.value.message_dict == errors
    assert list(Device.objects.values()) == before
    assert not AuditEntry.objects.exists()


def test_a_device_goes_only_to_an_end_user(world, portal_admin, reseller):
    with pytest.raises(ValidationError) as refused:
        catalog.device_create(by=portal_admin, type="SIP", name="x", user=reseller)

    assert refused.value.message_dict == {"user": ["Choose an end user (role user)."]}


def test_users_and_read_only_accountants_change_nothing(world, accountant, end_user):
    for account in (accountant, end_user):
        with pytest.raises(PermissionDenied):
            catalog.device_create(by=account, type="SIP", name="x", user=end_user)
        with pytest.raises(PermissionDenied):
            catalog.device_update(
                by=account,
                device=world["frank_device"],
                type="SIP",
                name="y",
                extension="",
                user=end_user,
            )
        with pytest.raises(PermissionDenied):
            catalog.device_delete(by=account, device=world["frank_device"])
    assert str(Device.objects.get(pk=world["frank_device"].pk)) == "IAX2/frank"


def test_a_reseller_cannot_touch_another_resellers_things(world, reseller):
    with pytest.raises(PermissionDenied):
        catalog.device_delete(by=reseller, device=world["olga_device"])
    with pytest.raises(PermissionDenied):
        catalog.dial_plan_update(
            by=reseller, dial_plan=world["dave_plan"], name="mine", type="ivr", owner=reseller
        )
    assert Device.objects.filter(pk=world["olga_device"].pk).exists()
    assert DialPlan.objects.get(pk=world["dave_plan"].pk).name == "Dave desk"


def test_the_update_is_audited_old_and_new(world, writer):
    plan = world["system_plan"]

    catalog.dial_plan_update(by=writer, dial_plan=plan, name="Night IVR", type="queue", owner=None)

    entry = AuditEntry.objects.get(object_type="dial plan", action=AuditEntry.Action.UPDATE)
    assert entry.actor == writer
    assert entry.changes == [
        {"field": "Name", "old": "Main IVR", "new": "Night IVR"},
        {"field": "Type", "old": "ivr", "new": "queue"},
    ]


def test_an_update_that_changes_nothing_leaves_no_entry(world, portal_admin):
    plan = world["system_plan"]

    catalog.dial_plan_update(
        by=portal_admin, dial_plan=plan, name=plan.name, type=plan.type, owner=None
    )

    assert not AuditEntry.objects.exists()


def test_a_reseller_owns_what_it_creates_and_cannot_give_it_away(world, reseller, other_reseller):
    plan = catalog.dial_plan_create(by=reseller, name="Queue", type="queue")

    assert plan.owner == reseller
    with pytest.raises(ValidationError) as refused:
        catalog.dial_plan_create(by=reseller, name="Gift", type="ivr", owner=other_reseller)
    assert refused.value.message_dict == {"owner": ["You can only own it yourself."]}


def test_only_a_reseller_pro_has_providers(world, reseller, pro_reseller, portal_admin):
    with pytest.raises(PermissionDenied):
        catalog.provider_create(by=reseller, name="Mine")
    provider = catalog.provider_create(by=pro_reseller, name="Percy Two")
    assert provider.owner == pro_reseller
    with pytest.raises(ValidationError) as refused:
        catalog.provider_create(by=portal_admin, name="For charlie", owner=reseller)
    assert refused.value.message_dict == {
        "owner": ["Only a Reseller PRO has providers of its own."]
    }


@pytest.mark.parametrize(
    ("kind", "did_field", "delete"),
    [
        (
            "system_provider",
            "provider",
            lambda by, obj: catalog.provider_delete(by=by, provider=obj),
        ),
        ("frank_device", "device", lambda by, obj: catalog.device_delete(by=by, device=obj)),
        (
            "system_plan",
            "dial_plan",
            lambda by, obj: catalog.dial_plan_delete(by=by, dial_plan=obj),
        ),
    ],
)
def test_deleting_what_dids_use_is_refused_with_their_count(
    world, portal_admin, kind, did_field, delete
):
    obj = world[kind]
    DidFactory(**{did_field: obj})
    DidFactory(**{did_field: obj}, status=Did.Status.TERMINATED)

    with pytest.raises(catalog.InUse) as refused:
        delete(portal_admin, obj)

    assert refused.value.count == 2
    assert "used by 2 DIDs" in refused.value.messages[0]
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert not AuditEntry.objects.exists()
    Did.objects.all().delete()
    delete(portal_admin, obj)
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DELETE)
    assert entry.object_repr == str(obj)


def test_a_device_that_dids_use_keeps_its_user(world, portal_admin, end_user, reseller_user):
    device = world["erin_device"]
    DidFactory(device=device, user=reseller_user, status=Did.Status.ACTIVE)

    with pytest.raises(ValidationError) as refused:
        catalog.device_update(
            by=portal_admin, device=device, type="SIP", name="erin-pbx", extension="", user=end_user
        )

    assert "1 DID use this device" in refused.value.message_dict["user"][0]
    assert Device.objects.get(pk=device.pk).user == reseller_user
    # Its name may change all the same.
    catalog.device_update(
        by=portal_admin,
        device=device,
        type="SIP",
        name="erin-desk",
        extension="",
        user=reseller_user,
    )
    assert Device.objects.get(pk=device.pk).name == "erin-desk"


# --- pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [
        ("portal_admin", "/providers/", 200),
        ("accountant", "/providers/", 200),
        ("pro_reseller", "/providers/", 200),
        ("reseller", "/providers/", 403),
        ("end_user", "/providers/", 403),
        ("accountant_without_right", "/providers/", 403),
        ("reseller", "/devices/", 200),
        ("end_user", "/devices/", 200),
        ("accountant_without_right", "/devices/", 403),
        ("reseller", "/dial-plans/", 200),
        ("end_user", "/dial-plans/", 403),
        ("end_user", "/devices/new/", 403),
        ("accountant", "/devices/new/", 403),
        ("writer", "/devices/new/", 200),
        ("reseller", "/devices/new/", 200),
        ("reseller", "/providers/new/", 403),
        ("pro_reseller", "/providers/new/", 200),
    ],
)
def test_who_opens_which_page(request, client, world, persona, url, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url).status_code == status


def test_the_list_shows_each_objects_dids_with_a_link_that_lists_them(client, world, reseller):
    DidFactory(device=world["erin_device"], reseller=reseller)
    DidFactory(device=world["erin_device"], reseller=reseller, status=Did.Status.TERMINATED)
    DidFactory(device=world["erin_device"])  # not the reseller's: not counted for it
    reseller.hide_terminated_dids = True
    reseller.save()
    client.force_login(reseller)

    response = client.get("/devices/")

    (row,) = response.context["rows"]
    assert row["obj"] == world["erin_device"]
    assert row["dids"] == 2
    assert row["dids_url"] == f"/dids/?search_device={row['obj'].pk}&search_hide_terminated_dids=0"
    assert client.get(row["dids_url"]).context["table"].paginator.count == 2


def test_a_device_outside_the_viewers_reach_is_a_404(client, world, reseller):
    client.force_login(reseller)

    for url in (
        f"/devices/{world['olga_device'].pk}/",
        f"/devices/{world['olga_device'].pk}/delete/",
        f"/dial-plans/{world['dave_plan'].pk}/",
        "/devices/987654/",
    ):
        assert client.get(url).status_code == 404, url


def test_a_user_reads_its_device_but_cannot_change_it(client, world, end_user):
    device = world["frank_device"]
    client.force_login(end_user)

    page = client.get(f"/devices/{device.pk}/")
    post = client.post(
        f"/devices/{device.pk}/", {"type": "SIP", "name": "hacked", "user": end_user.pk}
    )
    delete = client.post(f"/devices/{device.pk}/delete/")

    assert page.status_code == 200
    assert "dids/catalog_detail.html" in [t.name for t in page.templates]
    assert "<form" not in page.content.decode().split('id="content-main"', 1)[1].split("</div>")[0]
    assert (post.status_code, delete.status_code) == (403, 403)
    assert str(Device.objects.get(pk=device.pk)) == "IAX2/frank"


def test_a_reseller_adds_edits_and_deletes_a_device_through_the_pages(
    client, world, reseller, reseller_user
):
    client.force_login(reseller)

    created = client.post(
        "/devices/new/",
        {
            "type": "SIP",
            "name": "lobby",
            "extension": "12",
            "user": reseller_user.pk,
            "_continue": "1",
        },
    )
    device = Device.objects.get(name="lobby")
    assert created.url == f"/devices/{device.pk}/"
    edited = client.post(
        f"/devices/{device.pk}/",
        {"type": "IAX2", "name": "lobby", "extension": "12", "user": reseller_user.pk},
    )
    assert edited.url == "/devices/"
    assert Device.objects.get(pk=device.pk).type == "IAX2"
    deleted = client.post(f"/devices/{device.pk}/delete/")
    assert deleted.url == "/devices/"
    assert not Device.objects.filter(pk=device.pk).exists()
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["create", "update", "delete"]


def test_the_form_shows_the_services_errors_and_changes_nothing(client, world, reseller, end_user):
    client.force_login(reseller)

    response = client.post("/devices/new/", {"type": "SIP", "name": "x", "user": end_user.pk})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "user": ["There is no such account that you may choose here."]
    }
    assert not Device.objects.filter(name="x").exists()


def test_the_delete_page_refuses_with_the_count_and_a_link(client, world, portal_admin):
    device = world["frank_device"]
    for _ in range(3):
        DidFactory(device=device)
    client.force_login(portal_admin)

    page = client.get(f"/devices/{device.pk}/delete/")
    post = client.post(f"/devices/{device.pk}/delete/")

    for response in (page, post):
        html = response.content.decode()
        assert "3 DIDs use it" in html
        assert f'href="/dids/?search_device={device.pk}&amp;search_hide_terminated_dids=0"' in html
        assert "Yes, delete it" not in html
    assert post.status_code == 400
    assert Device.objects.filter(pk=device.pk).exists()


def test_every_page_form_is_csrf_protected(world, portal_admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)

    response = client.post(f"/devices/{world['frank_device'].pk}/delete/")

    assert response.status_code == 403
    assert Device.objects.filter(pk=world["frank_device"].pk).exists()


def test_the_admin_gives_a_provider_to_a_reseller_pro_by_its_id(
    client, world, portal_admin, pro_reseller
):
    client.force_login(portal_admin)

    client.post("/providers/new/", {"name": "Wholesale B", "owner": str(pro_reseller.pk)})
    client.post("/providers/new/", {"name": "System C", "owner": "0"})

    assert Provider.objects.get(name="Wholesale B").owner == pro_reseller
    assert Provider.objects.get(name="System C").owner is None


def test_the_menu_offers_the_pages_of_the_role(client, world, reseller, end_user, pro_reseller):
    def menu(account) -> list[str]:
        client.force_login(account)
        return [item["label"] for item in client.get("/").context["portal_nav"]]

    assert {"Devices", "Dial plans"} <= set(menu(reseller))
    assert "Providers" not in menu(reseller)
    assert "Providers" in menu(pro_reseller)
    assert "Devices" in menu(end_user)
    assert "Dial plans" not in menu(end_user)


def test_the_active_menu_entry_is_the_longest_match(client, portal_admin):
    client.force_login(portal_admin)

    nav = client.get("/dids/blocks/").context["portal_nav"]

    assert [item["label"] for item in nav if item["active"]] == ["Number blocks"]
