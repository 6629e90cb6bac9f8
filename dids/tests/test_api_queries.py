"""dids_get runs a fixed number of SQL queries whatever the number of rows (no N+1),
and streams its rows in chunks."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from accounts.authentication import known_client_record
from accounts.models import ApiKnownClient, User
from dids.api.testing import SECRET_HASH, body_of, call, rows_of
from dids.models import Did
from dids.streaming import CHUNK_SIZE
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
)


def make_dids(count: int, *, reseller: User, user: User) -> None:
    """`count` DIDs with every relation filled, so that a lazy lookup would show."""
    provider = ProviderFactory()
    plan = DialPlanFactory()
    device = DeviceFactory(user=user)
    Did.objects.bulk_create(
        Did(
            number=f"3706{i:07d}",
            status=Did.Status.ACTIVE,
            provider=provider,
            user=user,
            device=device,
            reseller=reseller,
            dial_plan=plan,
            comment="c",
            reseller_comment="r",
        )
        for i in range(count)
    )


def queries_for(client, username: str) -> tuple[int, int]:
    """(queries, rows) of one full dids_get response, body included."""
    with CaptureQueriesContext(connection) as captured:
        response = call(client, {"u": username, "hash": SECRET_HASH})
        body_of(response)
    return len(captured), len(rows_of(response))


@pytest.fixture
def people(portal_admin, reseller, reseller_user, system_api):
    ApiSettingsFactory(reseller=reseller, api_secret_key="secret")
    # Known clients (dids_get.md §7) already recorded this hour, as for any client that
    # calls more than once an hour: the counts below are those of every such request.
    for account in (portal_admin, reseller, reseller_user):
        known_client_record(account, "127.0.0.1")
    return {"reseller": reseller, "user": reseller_user}


@pytest.mark.parametrize("username", ["alice", "charlie", "erin"])
def test_query_count_does_not_grow_with_rows(client, people, username):
    make_dids(3, **people)
    few = queries_for(client, username)
    # More rows than one database chunk, to cross a fetch boundary.
    more = CHUNK_SIZE + 7
    Did.objects.all().delete()
    make_dids(more, **people)
    many = queries_for(client, username)
    assert few[1] == 3
    assert many[1] == more
    assert few[0] == many[0]


def test_admin_query_count(client, people, django_assert_num_queries):
    make_dids(25, **people)
    # The account (with the system's API settings), the release check, the rows.
    with django_assert_num_queries(3):
        body_of(call(client, {"u": "alice", "hash": SECRET_HASH}))


def test_reseller_user_query_count(client, people, django_assert_num_queries):
    make_dids(25, **people)
    # The account (with its reseller and both API settings), the release check, the rows.
    with django_assert_num_queries(3):
        body_of(call(client, {"u": "erin", "hash": SECRET_HASH}))


def test_owner_filter_adds_no_query(client, people, django_assert_num_queries):
    make_dids(25, **people)
    with django_assert_num_queries(3):
        response = call(client, {"u": "alice", "hash": SECRET_HASH, "search_did_owner": "erin"})
    assert len(rows_of(response)) == 25


def test_a_clients_first_success_of_the_hour_records_it_in_one_query(
    client, portal_admin, system_api, django_assert_num_queries
):
    for number in ("1", "2", "3"):
        DidFactory(number=number)
    # The account (with the system's API settings), the known client, the release check,
    # the rows.
    with django_assert_num_queries(4):
        body_of(call(client, {"u": "alice", "hash": SECRET_HASH}))
    with django_assert_num_queries(3):
        body_of(call(client, {"u": "alice", "hash": SECRET_HASH}))
    assert list(ApiKnownClient.objects.values_list("user__username", "address")) == [
        ("alice", "127.0.0.1")
    ]


def test_errors_cost_few_queries(client, people, django_assert_num_queries):
    with django_assert_num_queries(1):
        body_of(call(client, {"u": "nobody"}))
    with django_assert_num_queries(0):
        body_of(call(client, {"u": "alice"}, url="/billing/api/"))  # unknown method
    with django_assert_num_queries(1):
        body_of(call(client, {"u": "alice", "hash": SECRET_HASH, "from": "0"}))


def test_body_is_streamed_in_chunks(client, people):
    make_dids(450, **people)
    response = client.post("/billing/api/dids_get", {"u": "alice", "hash": SECRET_HASH})
    assert response.streaming
    chunks = list(response.streaming_content)
    # Header, 200 + 200 + 50 rows, footer: never the whole document in one piece.
    assert len(chunks) == 5
    assert chunks[0] == b'<?xml version="1.0" encoding="UTF-8"?><page><dids>'
    assert chunks[1].count(b"<did><did>") == 200
    assert chunks[3].count(b"<did><did>") == 50
    assert chunks[-1] == b"</dids></page>"


def test_closing_the_response_closes_the_database_iterator():
    from dids.api.views import DidStream

    closed = []

    def rows():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    iterator = rows()
    next(iterator)  # the view peeks at the first row before the response exists
    DidStream(iter(["<page/>"]), rows=iterator).close()
    assert closed == [True]


def test_an_unread_response_can_be_closed_safely(client, people):
    make_dids(3, **people)
    response = client.post("/billing/api/dids_get", {"u": "alice", "hash": SECRET_HASH})
    # What the server does when the client goes away; as Django's test client does, keep
    # request_finished from closing the test's connection meanwhile.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert Did.objects.count() == 3  # the cursor is gone and the transaction still usable
