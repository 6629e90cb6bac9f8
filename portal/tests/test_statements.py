"""portal.statements: a query compiled once must read exactly what the ORM reads, send
exactly the SQL the ORM sends for the same values, and refuse what it cannot do."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.authentication import account_named
from accounts.models import ApiSettings, User
from dids.models import Did
from portal.statements import Statement, StatementUsageError, SubqueryOf
from portal.testing.factories import (
    AccountantGroupFactory,
    ApiPermissionGroupFactory,
    ApiSettingsFactory,
    DidFactory,
    UserFactory,
)
from portal.testing.races import race

pytestmark = pytest.mark.django_db

RELATED = ("owner", "accountant_group", "api_permission_group")
ACCOUNT = Statement(
    lambda username: User.objects.select_related(*RELATED).filter(username=username),
    username=User._meta.get_field("username"),
)
BY_STATUS = Statement(
    lambda status: Did.objects.filter(status=status).values_list("number", flat=True),
    status=Did._meta.get_field("status"),
)
EXPIRED = Statement(
    lambda now: Did.objects.filter(status=Did.Status.CLOSED, reserved_for_user_till__lte=now),
    now=Did._meta.get_field("reserved_for_user_till"),
)
SETTINGS_OF = Statement(
    lambda reseller: ApiSettings.objects.filter(reseller_id=reseller),
    reseller=ApiSettings._meta.get_field("reseller"),
)
# A subquery slot between two value slots: its parameters must land between theirs.
NUMBERS_IN = Statement(
    lambda status, ids, language: (
        Did.objects.filter(status=status, pk__in_window=ids, language=language)
        .order_by("number")
        .values_list("number", flat=True)
    ),
    status=Did._meta.get_field("status"),
    ids=SubqueryOf(Did._meta.pk),
    language=Did._meta.get_field("language"),
)


def fields(instance) -> dict:
    return {k: v for k, v in vars(instance).items() if k != "_state"}


# A lookup puts parentheses around an expression on its right (a Slot is one): the
# only difference from the ORM's SQL for a plain value, and the same to the database.
SLOT_VALUE = re.compile(r"\(('(?:[^']|'')*'(?:::\w+)?|-?\d+)\)")


def sent(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    return [SLOT_VALUE.sub(r"\1", query["sql"]) for query in queries.captured_queries]


@pytest.fixture
def customer(db) -> User:
    reseller = UserFactory(username="charlie", role=User.Role.RESELLER)
    return UserFactory(
        username="erin",
        role=User.Role.ACCOUNTANT,
        owner=reseller,
        accountant_group=AccountantGroupFactory(name="Readers", rights={"manage_dids": "read"}),
        api_permission_group=ApiPermissionGroupFactory(name="Callers"),
    )


def test_get_reads_the_account_and_its_related_rows_in_one_query(customer):
    expected = User.objects.select_related(*RELATED).get(username="erin")
    with CaptureQueriesContext(connection) as queries:
        found = ACCOUNT.get(username="erin")
        related = (found.owner, found.accountant_group, found.api_permission_group)
    assert len(queries.captured_queries) == 1
    assert fields(found) == fields(expected)
    assert [fields(r) for r in related] == [
        fields(expected.owner),
        fields(expected.accountant_group),
        fields(expected.api_permission_group),
    ]
    assert found._state.db == "default"
    assert found._state.adding is False


def test_each_call_binds_its_own_values(customer):
    assert ACCOUNT.get(username="charlie").role == User.Role.RESELLER
    assert ACCOUNT.get(username="erin").owner.username == "charlie"
    assert ACCOUNT.get(username="charlie").owner is None
    assert [u.username for u in ACCOUNT(username="erin")] == ["erin"]
    assert ACCOUNT.exists(username="erin") is True
    assert ACCOUNT.exists(username="nobody") is False


def test_the_sql_is_the_orms_own_for_the_same_values(customer):
    now = timezone.now()
    reseller = User.objects.get(username="charlie")
    pairs = [
        (
            lambda: ACCOUNT.get(username="erin"),
            lambda: User.objects.select_related(*RELATED).get(username="erin"),
        ),
        (
            lambda: list(ACCOUNT(username="o'neil %s")),
            lambda: list(User.objects.select_related(*RELATED).filter(username="o'neil %s")),
        ),
        (
            lambda: EXPIRED.exists(now=now),
            lambda: Did.objects.filter(
                status=Did.Status.CLOSED, reserved_for_user_till__lte=now
            ).exists(),
        ),
        (
            lambda: list(SETTINGS_OF(reseller=reseller.pk)),
            lambda: list(ApiSettings.objects.filter(reseller_id=reseller.pk)),
        ),
    ]
    for statement, orm in pairs:
        assert sent(statement) == sent(orm)


def test_get_refuses_none_and_many_as_queryset_get_does(customer):
    with pytest.raises(User.DoesNotExist, match="User matching query does not exist"):
        ACCOUNT.get(username="nobody")
    DidFactory(status=Did.Status.FREE)
    DidFactory(status=Did.Status.FREE)
    with pytest.raises(Did.MultipleObjectsReturned, match="it returned 2!"):
        BY_STATUS.get(status=Did.Status.FREE)
    assert sorted(BY_STATUS(status=Did.Status.FREE)) == sorted(
        Did.objects.filter(status="free").values_list("number", flat=True)
    )
    assert list(BY_STATUS(status=Did.Status.ACTIVE)) == []


def test_values_are_adapted_by_their_field_on_every_database(db):
    now = timezone.now()
    DidFactory(status=Did.Status.CLOSED, reserved_for_user_till=now - timedelta(seconds=1))
    assert EXPIRED.exists(now=now) is True
    assert EXPIRED.exists(now=now - timedelta(seconds=2)) is False
    settings_row = ApiSettingsFactory(reseller=UserFactory(role=User.Role.RESELLER))
    assert list(SETTINGS_OF(reseller=settings_row.reseller_id)) == [settings_row]
    assert list(SETTINGS_OF(reseller=settings_row.reseller_id + 1000)) == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40))
def test_any_text_finds_exactly_what_the_orm_finds(customer, username):
    orm = list(User.objects.filter(username=username).values_list("pk", flat=True))
    assert [u.pk for u in ACCOUNT(username=username)] == orm
    assert account_named(username) == (User.objects.get(pk=orm[0]) if orm else None)


@pytest.mark.parametrize(
    "chain",
    [
        lambda qs: qs.filter(pk=1),
        lambda qs: qs.order_by("pk"),
        lambda qs: qs.exclude(pk=1),
        lambda qs: qs[:1],
        lambda qs: qs.count(),
        lambda qs: qs.exists(),
    ],
    ids=["filter", "order_by", "exclude", "slice", "count", "exists"],
)
def test_a_statements_queryset_cannot_be_changed(customer, chain):
    queryset = ACCOUNT(username="erin")
    with CaptureQueriesContext(connection) as queries, pytest.raises(StatementUsageError):
        chain(queryset)
    assert queries.captured_queries == []


def test_values_must_match_the_slots(customer):
    with pytest.raises(StatementUsageError, match="expected"):
        ACCOUNT.get()
    with pytest.raises(StatementUsageError, match="expected"):
        ACCOUNT.get(username="erin", role="admin")


@pytest.mark.parametrize(
    "build",
    [
        lambda username: User.objects.filter(role="admin"),
        lambda username: User.objects.filter(username=username, first_name=username),
    ],
    ids=["unused", "twice"],
)
def test_a_slot_must_stand_once_in_the_sql(db, build):
    statement = Statement(build, username=User._meta.get_field("username"))
    with pytest.raises(ImproperlyConfigured, match="'username' appears"):
        statement.get(username="erin")


@pytest.mark.django_db(transaction=True)
def test_threads_each_run_it_on_their_own_connection():
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections need a database server")
    names = [f"user{n}" for n in range(8)]
    for name in names:
        UserFactory(username=name)
    statement = Statement(
        lambda username: User.objects.filter(username=username),
        username=User._meta.get_field("username"),
    )
    found: dict[str, list] = {}

    def run(name: str) -> None:
        try:
            found[name] = [statement.get(username=name).username for _ in range(20)]
        finally:
            connections.close_all()

    race(run, len(names), names.__getitem__)
    assert found == {name: [name] * 20 for name in names}


@pytest.fixture
def numbers(db) -> list[Did]:
    made = [
        DidFactory(number=f"3725550{n:03d}", status=status, language=language)
        for n, (status, language) in enumerate(
            [("free", "en"), ("free", "et"), ("active", "en"), ("free", "en"), ("closed", "en")]
        )
    ]
    return made


def numbers_in(status: str, ids, language: str) -> list[str]:
    return list(
        Did.objects.filter(status=status, pk__in_window=ids, language=language)
        .order_by("number")
        .values_list("number", flat=True)
    )


@pytest.mark.parametrize(
    "ids",
    [
        lambda: Did.objects.order_by("number").values("pk")[:3],
        lambda: Did.objects.filter(number__endswith="3").values("pk"),
        lambda: Did.objects.filter(comment="o'neil %s").values("pk"),
        lambda: Did.objects.filter(language__in=["en", "et"]).order_by("-number").values("pk")[1:4],
    ],
    ids=["sliced", "filtered", "quoted", "in-and-offset"],
)
def test_a_subquery_slot_reads_what_the_orm_reads_with_its_parameters_in_place(numbers, ids):
    for status, language in (("free", "en"), ("free", "et"), ("active", "en")):
        values = {"status": status, "ids": ids(), "language": language}
        expected = numbers_in(**values)
        assert list(NUMBERS_IN(**values)) == expected
        statement, orm = (
            sent(lambda v=values: list(NUMBERS_IN(**v))),
            sent(lambda v=values: numbers_in(**v)),
        )
        assert statement == orm


def test_each_call_takes_its_own_subquery(numbers):
    first = list(NUMBERS_IN(status="free", ids=Did.objects.values("pk")[:1], language="en"))
    every = list(NUMBERS_IN(status="free", ids=Did.objects.values("pk"), language="en"))
    assert first == ["3725550000"]
    assert every == ["3725550000", "3725550003"]


@pytest.mark.parametrize(
    "ids",
    [[1, 2], Did.objects.none().query, None],
    ids=["list", "query", "none"],
)
def test_a_subquery_slot_takes_a_queryset_only(numbers, ids):
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(StatementUsageError, match="subquery 'ids': a QuerySet"),
    ):
        list(NUMBERS_IN(status="free", ids=ids, language="en"))
    assert queries.captured_queries == []


def test_a_subquery_slot_must_stand_once_in_the_sql(db):
    statement = Statement(lambda ids: Did.objects.all(), ids=SubqueryOf(Did._meta.pk))
    with pytest.raises(ImproperlyConfigured, match="'ids' appears 0 times"):
        list(statement(ids=Did.objects.values("pk")))


def test_a_subquery_that_can_match_nothing_is_an_empty_one(numbers):
    nothing = Did.objects.none().values("pk")
    assert list(NUMBERS_IN(status="free", ids=nothing, language="en")) == []
    assert (
        list(
            NUMBERS_IN(status="free", ids=Did.objects.filter(pk__in=[]).values("pk"), language="en")
        )
        == []
    )
    outside = Statement(
        lambda ids: (
            Did.objects.exclude(pk__in_window=ids)
            .order_by("number")
            .values_list("number", flat=True)
        ),
        ids=SubqueryOf(Did._meta.pk),
    )
    everything = sorted(did.number for did in numbers)
    assert list(outside(ids=Did.objects.none().values("pk"))) == everything
    assert list(outside(ids=Did.objects.values("pk")[:2])) == everything[2:]


def test_subquery_slots_stand_in_the_sqls_order_whatever_their_declared_order(numbers):
    # Declared `outside` first, but its subquery comes second in the SQL.
    statement = Statement(
        lambda outside, inside: (
            Did.objects.filter(pk__in_window=inside)
            .exclude(pk__in_window=outside)
            .order_by("number")
            .values_list("number", flat=True)
        ),
        outside=SubqueryOf(Did._meta.pk),
        inside=SubqueryOf(Did._meta.pk),
    )
    inside = Did.objects.filter(status="free").values("pk")
    outside = Did.objects.filter(language="et").values("pk")
    expected = list(
        Did.objects.filter(pk__in_window=inside)
        .exclude(pk__in_window=outside)
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert expected == ["3725550000", "3725550003"]
    assert list(statement(outside=outside, inside=inside)) == expected
