"""Closed DIDs past *reserved for user till* are released: free, end user and device cleared."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dids.models import Did, DidHistory
from dids.services import dids_release_expired
from portal.testing.factories import DeviceFactory, DidFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_dids(reseller, reseller_user, end_user):
    now = timezone.now()
    return {
        "expired": DidFactory(
            number="1",
            status=Did.Status.CLOSED,
            user=end_user,
            device=DeviceFactory(user=end_user),
            reserved_for_user_till=now - timedelta(minutes=1),
        ),
        "expired_resold": DidFactory(
            number="2",
            status=Did.Status.CLOSED,
            reseller=reseller,
            user=reseller_user,
            reserved_for_user_till=now - timedelta(days=3),
        ),
        "still_reserved": DidFactory(
            number="3",
            status=Did.Status.CLOSED,
            user=end_user,
            reserved_for_user_till=now + timedelta(days=1),
        ),
        "active": DidFactory(number="4", status=Did.Status.ACTIVE, user=end_user),
    }


def test_expired_closed_dids_become_free_and_keep_their_reseller(closed_dids, reseller):
    assert dids_release_expired() == 2

    expired = Did.objects.get(number="1")
    assert (expired.status, expired.user, expired.device, expired.reserved_for_user_till) == (
        "free",
        None,
        None,
        None,
    )
    resold = Did.objects.get(number="2")
    assert (resold.status, resold.user, resold.reseller) == ("free", None, reseller)
    assert Did.objects.get(number="3").status == "closed"
    assert Did.objects.get(number="4").status == "active"


def test_the_release_is_in_the_history(closed_dids, end_user):
    dids_release_expired()
    entry = DidHistory.objects.get(did__number="1")
    assert (entry.source, entry.action, entry.by) == ("system", "release", None)
    assert entry.changes["status"] == ["closed", "free"]
    # The history names what changed (one format for every change, see dids.services).
    assert entry.changes["user"] == [f"{end_user.display_name} (#{end_user.pk})", None]
    assert not DidHistory.objects.filter(did__number__in=["3", "4"]).exists()


def test_nothing_to_release_is_one_query(closed_dids, django_assert_num_queries):
    dids_release_expired()
    with django_assert_num_queries(1):
        assert dids_release_expired() == 0


def test_the_cron_command_reports_the_count(closed_dids):
    out = StringIO()
    call_command("release_closed_dids", stdout=out)
    assert out.getvalue().strip() == "Released 2 closed DIDs."
    out = StringIO()
    call_command("release_closed_dids", stdout=out)
    assert out.getvalue().strip() == "Released 0 closed DIDs."
