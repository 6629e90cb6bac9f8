"""Write methods called at once on one DID (did_methods.md §7.5), on PostgreSQL's row
locks: applied one after the other, the second judged on what the first left."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from accounts.models import User
from dids.api.methods.testing import call_method, outcome_of
from dids.models import Did, DidHistory
from portal.testing.factories import ApiSettingsFactory, DeviceFactory, DidFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def ops(transactional_db):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="secret")
    return UserFactory(username="ops", role=User.Role.ADMIN, is_system_administrator=True)


def race(*requests: tuple[str, dict]) -> list[tuple[str, str]]:
    """POST the requests at once, each from its own thread and connection."""
    start = threading.Barrier(len(requests))
    outcomes: list = [None] * len(requests)

    def run(index: int, method: str, params: dict) -> None:
        try:
            client = Client()
            start.wait()
            outcomes[index] = outcome_of(call_method(client, method, {"u": "ops", **params}))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i, method, params))
        for i, (method, params) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_ten_device_assignments_on_one_free_did_exactly_one_succeeds(ops):
    did = DidFactory(number="14155550100")
    devices = [DeviceFactory(user=UserFactory()) for _ in range(10)]
    outcomes = race(
        *[("did_device_assign", {"device_id": str(d.pk), "did": did.number}) for d in devices]
    )
    assert sorted(outcomes) == [("error", "DID is not free")] * 9 + [
        ("success", "Device assigned to DID")
    ]
    did.refresh_from_db()
    assert did.status == "active"
    assert did.device in devices
    (entry,) = DidHistory.objects.filter(did=did)
    assert (entry.action, entry.source, entry.changes["device"][1]) == (
        "assign device",
        "api",
        f"{did.device} (#{did.device_id})",
    )


def test_two_creations_of_one_number_one_is_created_the_other_already_exists(ops):
    from portal.testing.factories import ProviderFactory

    provider = ProviderFactory()
    params = {"provider_id": str(provider.pk), "did": "37060000001"}
    outcomes = race(*[("did_create", params)] * 4)
    assert sorted(outcomes) == [("error", "DID already exists")] * 3 + [("success", "DID created")]
    assert Did.objects.filter(number="37060000001").count() == 1


def test_two_deletions_the_second_finds_no_did(ops):
    did = DidFactory(status="terminated")
    outcomes = race(*[("did_delete", {"dids_id": str(did.pk)})] * 2)
    assert sorted(outcomes) == [
        ("error", "DID was not found"),
        ("status", "DID successfully deleted"),
    ]


def test_terminate_against_assign_one_wins_the_other_gets_its_precondition(ops):
    did = DidFactory(number="14155550100")
    device = DeviceFactory(user=UserFactory())
    outcomes = race(
        ("did_terminate", {"dids_id": str(did.pk)}),
        ("did_device_assign", {"device_id": str(device.pk), "did": did.number}),
    )
    assert outcomes in (
        [("success", "DID successfully terminated"), ("error", "DID is terminated")],
        [
            ("error", "DID was not terminated. Only Free or Closed DIDs can be terminate"),
            ("success", "Device assigned to DID"),
        ],
    )
    assert DidHistory.objects.filter(did=did).count() == 1


def test_two_reservations_for_different_users_the_second_is_already_assigned(ops):
    did = DidFactory()
    users = [UserFactory(), UserFactory()]
    outcomes = race(
        *[("did_details_update", {"did_id": str(did.pk), "did_user_id": str(u.pk)}) for u in users]
    )
    assert sorted(outcomes) == [
        ("error", "DID is already assigned"),
        ("success", "DID details successfully updated"),
    ]
    assert DidHistory.objects.filter(did=did).count() == 1


def test_two_details_updates_of_different_fields_both_take_effect(ops):
    did = DidFactory()
    outcomes = race(
        ("did_details_update", {"did_id": str(did.pk), "call_limit": "7"}),
        ("did_details_update", {"did_id": str(did.pk), "language": "lt"}),
    )
    assert outcomes == [("success", "DID details successfully updated")] * 2
    did.refresh_from_db()
    assert (did.call_limit, did.language) == (7, "lt")
    entries = list(DidHistory.objects.filter(did=did).order_by("id"))
    assert sorted(tuple(e.changes) for e in entries) == [("call_limit",), ("language",)]


def test_two_subscription_stops_both_succeed(ops):
    user = UserFactory()
    did = DidFactory(status="active", user=user, device=DeviceFactory(user=user))
    outcomes = race(*[("did_subscription_stop", {"dids_id": str(did.pk)})] * 2)
    assert outcomes == [("success", "DID was successfully closed")] * 2
    assert sorted(DidHistory.objects.filter(did=did).values_list("action", flat=True)) == [
        "close",
        "close again",
    ]
