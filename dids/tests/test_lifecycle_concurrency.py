"""Two people acting on one DID at once: one wins, the other is refused (PostgreSQL locks)."""

import threading

import pytest
from django.db import connection, connections

from dids import services
from dids.models import Did, DidHistory
from dids.services import DidActionRefused
from portal.testing.factories import DeviceFactory, DidFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def race(*calls):
    """Run the calls at once in threads; each outcome is "ok" or the refusal's code."""
    start = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(index, call):
        try:
            start.wait()
            call()
            outcomes[index] = "ok"
        except DidActionRefused as refused:
            outcomes[index] = refused.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_device_assignments_on_one_free_did_one_wins():
    admin = UserFactory(username="alice", role="admin", is_system_administrator=True)
    did = DidFactory()
    devices = [DeviceFactory(user=UserFactory()) for _ in range(6)]
    outcomes = race(
        *[
            lambda d=d: services.did_assign_device(
                did_id=did.pk, device=d, actor=admin, source="gui"
            )
            for d in devices
        ]
    )
    assert sorted(outcomes) == ["ok"] + ["status"] * 5
    did.refresh_from_db()
    assert did.status == "active"
    assert DidHistory.objects.filter(did=did).count() == 1


def test_terminate_against_assign_exactly_one_wins():
    admin = UserFactory(username="alice", role="admin", is_system_administrator=True)
    did = DidFactory()
    device = DeviceFactory(user=UserFactory())
    outcomes = race(
        lambda: services.did_terminate(did_id=did.pk, actor=admin, source="gui"),
        lambda: services.did_assign_device(did_id=did.pk, device=device, actor=admin, source="gui"),
    )
    assert sorted(outcomes) in (["ok", "status"], ["ok", "terminated"])
    assert DidHistory.objects.filter(did=did).count() == 1


def test_concurrent_edits_of_different_fields_lose_nothing():
    admin = UserFactory(username="alice", role="admin", is_system_administrator=True)
    did = DidFactory()
    fields = [{"language": "lt"}, {"call_limit": 7}, {"comment": "x"}, {"tone_zone": "it"}]
    outcomes = race(
        *[
            lambda f=f: services.did_edit(did_id=did.pk, fields=f, actor=admin, source="gui")
            for f in fields
        ]
    )
    assert outcomes == ["ok"] * 4
    did.refresh_from_db()
    assert (did.language, did.call_limit, did.comment, did.tone_zone) == ("lt", 7, "x", "it")
    assert DidHistory.objects.filter(did=did).count() == 4


def test_concurrent_edits_from_one_opened_page_the_second_is_stale():
    admin = UserFactory(username="alice", role="admin", is_system_administrator=True)
    did = DidFactory()
    seen = Did.objects.get(pk=did.pk).updated_at
    outcomes = race(
        *[
            lambda v=v: services.did_edit(
                did_id=did.pk,
                fields={"language": v},
                actor=admin,
                source="gui",
                expected_updated_at=seen,
            )
            for v in ("lt", "de")
        ]
    )
    assert sorted(outcomes) == ["ok", "stale"]
    assert DidHistory.objects.filter(did=did).count() == 1


def test_two_creations_of_one_number_one_wins():
    admin = UserFactory(username="alice", role="admin", is_system_administrator=True)
    outcomes = race(
        *[
            lambda: services.did_create(number="37060000001", actor=admin, source="gui")
            for _ in range(4)
        ]
    )
    assert sorted(outcomes) == ["exists"] * 3 + ["ok"]
    assert Did.objects.count() == 1
