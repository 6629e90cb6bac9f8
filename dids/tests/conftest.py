"""A world for the write methods' tests: an account of every kind, their API settings,
providers, devices, dial plans and a DID in every state that the checks tell apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, SystemSettings, User
from dids.api.methods.testing import call_method, error_of, success_of
from dids.api.testing import call as dids_get_call
from dids.api.testing import error_of as dids_get_error_of
from dids.api.testing import rows_of, sha1
from dids.models import Device, DialPlan, Did, DidHistory, Provider
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

SECRETS = {None: "secret", "charlie": "charlie-secret", "dave": "dave-secret"}


@dataclass
class World:
    accounts: dict[str, User] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    dial_plans: dict[str, DialPlan] = field(default_factory=dict)
    dids: dict[str, Did] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        for registry in ("accounts", "providers", "devices", "dial_plans", "dids"):
            found = self.__dict__[registry].get(name)
            if found is not None:
                return found
        raise AttributeError(name)

    def did(self, name: str) -> Did:
        """The DID as it is stored now."""
        return Did.objects.get(pk=self.dids[name].pk)


def secret_of(caller: User) -> str:
    owner = caller.settings_owner
    return SECRETS[owner.username if owner is not None else None]


def api(client, method: str, caller: User | str, **params: str):
    """Call a write method as `caller` (an account or a username) with the right hash."""
    account = caller if isinstance(caller, User) else User.objects.get(username=caller)
    return call_method(client, method, {"u": account.username, **params}, secret=secret_of(account))


def refused(client, method: str, caller: User | str, **params: str) -> str | None:
    return error_of(api(client, method, caller, **params))


def succeeded(client, method: str, caller: User | str, **params: str) -> str | None:
    return success_of(api(client, method, caller, **params))


def state() -> tuple:
    """Every DID, history entry and audit entry: a refused request changes none of them."""
    return (
        list(Did.objects.order_by("id").values()),
        list(DidHistory.objects.order_by("id").values()),
        list(AuditEntry.objects.order_by("id").values()),
    )


def listed(client, viewer: User, number: str) -> dict[str, str] | None:
    """The DID as `viewer`'s dids_get lists it (None: not listed)."""
    response = dids_get_call(
        client, {"u": viewer.username, "hash": sha1(secret_of(viewer)), "search_did_number": number}
    )
    if dids_get_error_of(response) is not None:
        return None
    matches = [dict(row) for row in rows_of(response) if dict(row)["did"] == number]
    return matches[0] if matches else None


def last_change(did: Did) -> DidHistory:
    return DidHistory.objects.filter(did_id=did.pk).order_by("-id").first()


def system_request(world, method: str) -> dict[str, str]:
    """A request that succeeds for the operator: on DIDs no reseller holds."""
    return {
        "did_create": {"provider_id": str(world.sys.pk), "did": "555"},
        "did_device_assign": {"device_id": str(world.frank_dev.pk), "did": "100"},
        "did_device_unassign": {"did": "105"},
        "did_details_update": {"did_id": str(world.free.pk), "call_limit": "3"},
        "did_subscription_stop": {"dids_id": str(world.active_frank.pk)},
        "did_close": {"dids_id": str(world.active_frank.pk)},
        "did_terminate": {"dids_id": str(world.free.pk)},
        "did_make_free": {"dids_id": str(world.reserved_frank.pk)},
        "did_delete": {"dids_id": str(world.terminated.pk)},
    }[method]


def reseller_request(world, method: str) -> dict[str, str]:
    """The same for charlie, on DIDs it holds and with its users' devices and providers."""
    return {
        "did_create": {"provider_id": str(world.charlies.pk), "did": "556"},
        "did_device_assign": {"device_id": str(world.erin_dev.pk), "did": "101"},
        "did_device_unassign": {"did": "106"},
        "did_details_update": {"did_id": str(world.free_held.pk), "call_limit": "3"},
        "did_subscription_stop": {"dids_id": str(world.active_erin.pk)},
        "did_close": {"dids_id": str(world.active_erin.pk)},
        "did_terminate": {"dids_id": str(world.closed_erin.pk)},
        "did_make_free": {"dids_id": str(world.reserved_erin.pk)},
        "did_delete": {"dids_id": str(world.terminated_held.pk)},
    }[method]


@pytest.fixture
def world(
    db,
    portal_admin,
    accountant,
    accountant_without_right,
    reseller,
    other_reseller,
    reseller_user,
    end_user,
    did_writers,
) -> World:
    w = World()
    reseller.own_providers = True  # charlie is Reseller PRO; dave is not
    reseller.save()
    a = w.accounts
    a.update(
        admin=portal_admin,
        reader=accountant,
        clerk=accountant_without_right,
        charlie=reseller,
        dave=other_reseller,
        erin=reseller_user,
        frank=end_user,
    )
    a["writer"] = UserFactory(
        username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers
    )
    a["nogroup"] = UserFactory(username="nina", role=User.Role.ACCOUNTANT)
    a["dora"] = UserFactory(username="dora", role=User.Role.USER, owner=other_reseller)
    a["gus"] = UserFactory(username="gus", role=User.Role.USER, is_active=False)
    a["ghost"] = UserFactory(username="ghost", role=User.Role.USER, owner=reseller, is_active=False)
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key=SECRETS[None])
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key=SECRETS["charlie"])
    ApiSettingsFactory(reseller=other_reseller, allow_api=True, api_secret_key=SECRETS["dave"])
    SystemSettings.load()

    p = w.providers
    p["sys"] = ProviderFactory(name="Carrier One")
    p["charlies"] = ProviderFactory(name="Charlie Wholesale", owner=reseller)
    p["daves"] = ProviderFactory(name="Dave Wholesale", owner=other_reseller)

    d = w.devices
    d["frank_dev"] = DeviceFactory(type="SIP", name="frank-pbx", user=end_user)
    d["erin_dev"] = DeviceFactory(type="IAX2", name="erin-1", user=reseller_user)
    d["dora_dev"] = DeviceFactory(type="SIP", name="dora-1", user=a["dora"])
    d["gus_dev"] = DeviceFactory(type="SIP", name="gus-1", user=a["gus"])
    d["ghost_dev"] = DeviceFactory(type="SIP", name="ghost-1", user=a["ghost"])
    d["charlie_dev"] = DeviceFactory(type="SIP", name="charlie-own", user=reseller)

    dp = w.dial_plans
    dp["ivr"] = DialPlanFactory(name="Support IVR", type=DialPlan.Type.IVR)
    dp["queue"] = DialPlanFactory(name="Sales queue", type=DialPlan.Type.QUEUE)
    dp["charlie_plan"] = DialPlanFactory(name="Front desk", type="ringgroup", owner=reseller)

    later = timezone.now() + timedelta(days=30)
    closed = Did.Status.CLOSED
    for name, number, values in (
        ("free", "100", {}),
        ("free_held", "101", {"reseller": reseller}),
        ("free_held_dave", "102", {"reseller": other_reseller}),
        ("reserved_frank", "103", {"status": "reserved", "user": end_user}),
        ("reserved_erin", "104", {"status": "reserved", "reseller": reseller, "user": a["erin"]}),
        ("active_frank", "105", {"status": "active", "user": end_user, "device": d["frank_dev"]}),
        (
            "active_erin",
            "106",
            {"status": "active", "reseller": reseller, "user": a["erin"], "device": d["erin_dev"]},
        ),
        ("active_plan", "107", {"status": "active", "dial_plan": dp["ivr"]}),
        (
            "active_plan_held",
            "108",
            {"status": "active", "reseller": reseller, "dial_plan": dp["charlie_plan"]},
        ),
        (
            "closed_frank",
            "109",
            {
                "status": closed,
                "user": end_user,
                "device": d["frank_dev"],
                "reserved_for_user_till": later,
            },
        ),
        (
            "closed_erin",
            "110",
            {
                "status": closed,
                "reseller": reseller,
                "user": a["erin"],
                "device": d["erin_dev"],
                "reserved_for_user_till": later,
            },
        ),
        ("terminated", "111", {"status": "terminated"}),
        ("terminated_queue", "112", {"status": "terminated", "dial_plan": dp["queue"]}),
        ("terminated_held", "113", {"status": "terminated", "reseller": reseller}),
        (
            "free_held_2",
            "114",
            {"reseller": reseller, "comment": "op note", "reseller_comment": "rc"},
        ),
    ):
        w.dids[name] = DidFactory(number=number, provider=p["sys"], **values)
    return w
