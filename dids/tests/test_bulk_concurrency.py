"""Bulk runs at the same time as other writes (PostgreSQL row locks): no lost update, no
deadlock, and exactly one history entry per change."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import User
from dids import services
from dids.models import Did, DidHistory
from dids.services import dids_apply_many
from dids.tests.test_lifecycle_concurrency import race
from portal.testing.factories import DeviceFactory, DidFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def admin() -> User:
    return UserFactory(username="alice", role="admin", is_system_administrator=True)


def bulk(results: dict, key: str, **kwargs):
    def run():
        results[key] = dids_apply_many(actor=kwargs.pop("actor"), source="gui", **kwargs)

    return run


def entries(did: Did) -> list[str]:
    return list(DidHistory.objects.filter(did=did).order_by("id").values_list("action", flat=True))


def test_a_bulk_edit_and_a_single_edit_of_one_did_lose_nothing():
    alice = admin()
    dids = [DidFactory() for _ in range(300)]
    middle = dids[150]
    results: dict = {}

    outcomes = race(
        bulk(
            results,
            "bulk",
            ids=iter([d.pk for d in dids]),
            action=None,
            fields={"language": "lt"},
            actor=alice,
            chunk_size=20,
        ),
        lambda: services.did_edit(
            did_id=middle.pk, fields={"call_limit": 7}, actor=alice, source="gui"
        ),
    )

    assert outcomes == ["ok", "ok"]
    assert results["bulk"].changed == 300
    middle.refresh_from_db()
    assert (middle.language, middle.call_limit) == ("lt", 7)
    assert sorted(entries(middle)) == ["edit", "edit"]
    assert DidHistory.objects.count() == 301


def test_a_bulk_close_and_a_single_make_free_of_one_did_are_one_after_the_other():
    alice = admin()
    user = UserFactory()
    device = DeviceFactory(user=user)
    dids = [DidFactory(status="active", user=user, device=device) for _ in range(200)]
    contested = dids[120]
    results: dict = {}

    outcomes = race(
        bulk(results, "bulk", ids=[d.pk for d in dids], action="close", actor=alice, chunk_size=25),
        lambda: services.did_make_free(did_id=contested.pk, actor=alice, source="gui"),
    )

    assert outcomes == ["ok", "ok"]
    contested.refresh_from_db()
    assert contested.status == "free"  # made free last, either way
    outcome = results["bulk"]
    if outcome.changed == 200:  # the bulk run closed it first, then it was made free
        assert entries(contested) == ["close", "make free"]
    else:  # made free first: the bulk run found it free and skipped it
        assert outcome.changed == 199
        assert entries(contested) == ["make free"]
        assert outcome.skipped_count == 1
    others = [d for d in dids if d.pk != contested.pk]
    assert set(
        Did.objects.filter(pk__in=[d.pk for d in others]).values_list("status", flat=True)
    ) == {"closed"}
    assert DidHistory.objects.filter(did__in=others, action="close").count() == 199
    assert DidHistory.objects.filter(did__in=others).count() == 199


def test_two_bulk_runs_over_the_same_dids_neither_deadlock_nor_lose_updates():
    alice = admin()
    dids = [DidFactory() for _ in range(400)]
    ids = [d.pk for d in dids]
    results: dict = {}

    outcomes = race(
        bulk(
            results, "a", ids=iter(ids), action=None, fields={"language": "de"}, actor=alice,
            chunk_size=30,
        ),
        bulk(
            results, "b", ids=iter(reversed(ids)), action=None, fields={"call_limit": 3},
            actor=alice, chunk_size=30,
        ),
    )  # fmt: skip

    assert outcomes == ["ok", "ok"]
    assert (results["a"].changed, results["b"].changed) == (400, 400)
    assert set(Did.objects.values_list("language", "call_limit")) == {("de", 3)}
    assert DidHistory.objects.count() == 800
