"""A page of dids_get read by its window of ids (dids.presentation.window_rows, a statement
compiled once around the FilterSet's id query) is exactly the page the whole query gives:
the same DidRows in the same order, for any parameters and every role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from dids.filters import DidFilterSet
from dids.models import Did
from dids.presentation import did_rows, window_rows

# The fixture `inventory` (every role's DIDs) is test_api_properties' own.
from dids.tests.test_api_properties import ROLES, common, inventory, values  # noqa: F401

pytestmark = pytest.mark.django_db

NAMES = [name for name in DidFilterSet.base_filters if name not in ("from", "max_results")]
windows = st.fixed_dictionaries(
    {},
    optional={
        "from": st.integers(min_value=1, max_value=12).map(str),
        "max_results": st.integers(min_value=1, max_value=12).map(str),
    },
)


def both(account: User, params: dict[str, str]) -> tuple[list, list]:
    filterset = DidFilterSet(params, queryset=Did.objects.visible_to(account), account=account)
    if filterset.error_messages():
        return [], []
    return list(window_rows(filterset.window_ids())), list(did_rows(filterset.windowed()))


@pytest.mark.parametrize("username", ROLES)
@common
@given(filters=st.dictionaries(st.sampled_from(NAMES), values, max_size=3), window=windows)
def test_a_window_reads_the_rows_the_whole_query_reads(inventory, username, filters, window):  # noqa: F811
    account = User.objects.get(username=username)
    by_window, whole = both(account, {**filters, **window})
    assert by_window == whole


@pytest.mark.parametrize("username", ROLES)
def test_every_visible_did_and_none_other(inventory, username):  # noqa: F811
    account = User.objects.get(username=username)
    by_window, whole = both(account, {"max_results": "100"})
    assert {row.id for row in by_window} == inventory[username]
    assert by_window == whole


def test_one_query_whatever_the_filters(inventory):  # noqa: F811
    account = User.objects.get(username="alice")
    for params in ({}, {"search_did_owner": "a", "from": "2"}, {"search_status": "active"}):
        filterset = DidFilterSet(params, queryset=Did.objects.visible_to(account), account=account)
        with CaptureQueriesContext(connection) as queries:
            list(window_rows(filterset.window_ids()))
        assert len(queries.captured_queries) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"search_provider": "9" * 21, "max_results": "1"},  # an id beyond any id: no SQL
        {"search_user": "9" * 30, "from": "2", "max_results": "3"},
    ],
)
def test_a_window_that_can_match_nothing_reads_nothing(inventory, params):  # noqa: F811
    by_window, whole = both(User.objects.get(username="alice"), params)
    assert by_window == whole == []
