"""Statements: ORM queries built and compiled once, then run with each call's values.

Building and compiling a QuerySet is most of the CPU that a short request spends in
the ORM. The API's account lookup (the account with its owner and groups, by
username) takes about 0.8 ms to build and compile and 0.15 ms to run. A query whose
shape never changes, only its values, does not need that work more than once:

    ACCOUNT = Statement(
        lambda username: User.objects.select_related("owner").filter(username=username),
        username=User._meta.get_field("username"),
    )
    account = ACCOUNT.get(username="alice")     # as QuerySet.get(), one query
    ACCOUNT.exists(username="bob")              # as QuerySet.exists()
    list(ACCOUNT(username="carol"))             # a QuerySet, to be read as it is

`build` receives a `Slot` for each named value and must return the same shape of
query whatever those are: slots only stand where values go (the right side of a
lookup, an expression's argument), never decide which filters are applied. The
first call on a database builds the query, compiles it, and keeps the compiler: its
SQL, its columns, its converters. Every call then runs that SQL with the slots'
parameters replaced by the call's values, each adapted by its field exactly as a
lookup would (`get_db_prep_value`), through the QuerySet's own iterable: the rows
become the same model instances, related objects and tuples as without it.

A slot may also stand for a whole subquery: declared with `SubqueryOf(field)`, it
takes a QuerySet with each call (one column of `field`'s type, e.g. a window of ids
that a FilterSet cut), compiled with that call and put where the slot is, in
parentheses, its parameters among the statement's own. The statement's shape stays
fixed around a part that may change with every call:

    ROWS = Statement(
        lambda ids: Did.objects.filter(pk__in=ids).values_list("number"),
        ids=SubqueryOf(Did._meta.pk),
    )
    ROWS(ids=Did.objects.filter(status="free").values("pk")[:50])

A statement's QuerySet is read as it is. Chaining it (`filter()`, `order_by()`, a
slice) would change the query and not the SQL, so it raises TypeError instead.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import BooleanField, Expression, Field, QuerySet, Value
from django.db.models.query import MAX_GET_RESULTS
from django.db.models.sql import Query
from django.db.models.sql.where import WhereNode


class _Marker:
    """The parameter a slot compiles to, found again by identity in the compiled
    parameters. Never copied, so that every clone of the query keeps it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __copy__(self) -> _Marker:
        return self

    def __deepcopy__(self, memo: dict) -> _Marker:
        return self

    def __repr__(self) -> str:
        return f"<slot {self.name}>"


class Slot(Expression):
    """Where a statement's value named `name` goes: one parameter, of `field`'s type."""

    def __init__(self, name: str, field: Field) -> None:
        super().__init__(output_field=field)
        self.name = name
        self.marker = _Marker(name)

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self.marker]


class SubqueryOf:
    """Declares a subquery slot: each call gives a QuerySet that selects one column of
    `field`'s type."""

    def __init__(self, field: Field) -> None:
        self.field = field


def _subquery_token(name: str) -> str:
    # A NUL never stands in SQL that Django writes (values travel as parameters). In
    # parentheses, as a subquery's SQL is: a lookup wraps anything else in a pair more.
    return f"(\x00subquery:{name}\x00)"


class SubquerySlot(Expression):
    """Where a statement's subquery named `name` goes (its SQL brings its parentheses)."""

    def __init__(self, name: str, field: Field) -> None:
        super().__init__(output_field=field)
        self.name = name

    def __repr__(self) -> str:
        return f"SubquerySlot({self.name!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return _subquery_token(self.name), []


_PLACEHOLDER = re.compile(r"%%|%s")


def _placeholders(sql: str) -> int:
    return sum(1 for found in _PLACEHOLDER.finditer(sql) if found.group() == "%s")


class StatementUsageError(TypeError):
    pass


class _StatementQuery(Query):
    """The query of a statement's QuerySet: it answers with the compiled statement."""

    _statement: _Compiled
    _statement_params: tuple[str, list[Any]]

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty=True):
        return self._statement.compiler(using, self._statement_params)

    def chain(self, klass: type | None = None) -> Query:
        raise StatementUsageError(
            "A statement's QuerySet is read as it is; build the changed query in the "
            "statement itself."
        )

    clone = chain  # type: ignore[assignment]


class _Compiled:
    """One statement compiled for one database: its query, compiler, SQL and slots."""

    def __init__(self, queryset: QuerySet, query: Query, slots: dict[str, Slot], alias: str):
        connection = connections[alias]
        compiler = query.get_compiler(using=alias, connection=connection)
        sql, params = compiler.as_sql()
        positions: list[tuple[int, str]] = []
        for position, param in enumerate(params):
            if isinstance(param, _Marker):
                positions.append((position, param.name))
        used = [name for _, name in positions]
        # Where each subquery slot stands in the SQL, in the SQL's order.
        found: list[tuple[int, str]] = []
        for name, slot in slots.items():
            if isinstance(slot, SubquerySlot):
                token = _subquery_token(name)
                used.extend([name] * sql.count(token))
                if token in sql:
                    found.append((sql.index(token), name))
        for name in slots:
            if used.count(name) != 1:
                raise ImproperlyConfigured(
                    f"Statement slot {name!r} appears {used.count(name)} times in its SQL "
                    "(once is required)."
                )
        # A subquery's parameters go after those of the SQL before it: counted by the
        # placeholders, one per parameter.
        if _placeholders(sql) != len(params):
            raise ImproperlyConfigured("A statement's SQL must have one %s per parameter.")
        # The SQL around the subqueries, and how many parameters come before each.
        self.pieces: list[str] = []
        self.subqueries: list[tuple[str, int]] = []
        start = 0
        for at, name in sorted(found):
            self.pieces.append(sql[start:at])
            self.subqueries.append((name, _placeholders(sql[:at])))
            start = at + len(_subquery_token(name))
        self.pieces.append(sql[start:])
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = compiler.get_converters(fields)
        self.queryset = queryset
        self.query = query
        self.sql = sql
        self.params = list(params)
        self.positions = [
            (position, name, slots[name].output_field) for position, name in positions
        ]
        self.alias = alias
        self._compiler = compiler
        self._converters = converters

    def bind(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and parameters of one call."""
        connection = connections[self.alias]
        params = self.params.copy()
        for position, name, field in self.positions:
            params[position] = field.get_db_prep_value(values[name], connection, prepared=False)
        if not self.subqueries:
            return self.sql, params
        sql = [self.pieces[0]]
        bound: list[Any] = []
        start = 0
        for (name, before), after in zip(self.subqueries, self.pieces[1:], strict=True):
            subquery = values[name]
            if not isinstance(subquery, QuerySet) or subquery.db != self.alias:
                raise StatementUsageError(
                    f"subquery {name!r}: a QuerySet of the database {self.alias!r} expected"
                )
            # As a lookup compiles a queryset on its right: a subquery of the statement's
            # query (aliases of its own, U0…), in parentheses.
            inner = subquery.query.resolve_expression(self.query)
            try:
                inner_sql, inner_params = inner.as_sql(self._compiler, connection)
            except EmptyResultSet:
                # A query that can match nothing (e.g. `.none()`, an id beyond any id)
                # has no SQL of its own: the same select, with a WHERE that is false.
                inner.where = WhereNode([Value(False, output_field=BooleanField())])
                inner_sql, inner_params = inner.as_sql(self._compiler, connection)
            bound += params[start:before]
            bound += inner_params
            start = before
            sql += (inner_sql, after)
        bound += params[start:]
        return "".join(sql), bound

    def compiler(self, using: str | None, bound: tuple[str, list[Any]]) -> Any:
        if using not in (None, self.alias):
            raise StatementUsageError(f"compiled for {self.alias!r}, asked for {using!r}")
        compiler = copy.copy(self._compiler)
        compiler.connection = connections[self.alias]
        sql, params = bound
        converters = self._converters
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        compiler.get_converters = lambda expressions: converters
        return compiler


class Statement:
    """A query built by `build(**slots)`, compiled once per database, run with values."""

    def __init__(self, build: Callable[..., QuerySet], **fields: Field | SubqueryOf) -> None:
        self._build = build
        self._fields = fields
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled_for(self, kind: str) -> _Compiled:
        """The statement compiled for `kind` (all, get, exists), compiled at first use.

        The database is the built queryset's, read once: a statement serves one
        database (a build that picks another one per call is not supported)."""
        compiled = self._compiled.get(kind)
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._compiled.get(kind)
            if compiled is None:
                slots = {
                    name: SubquerySlot(name, field.field)
                    if isinstance(field, SubqueryOf)
                    else Slot(name, field)
                    for name, field in self._fields.items()
                }
                queryset = self._build(**slots)
                query = queryset.query
                if kind == "get":
                    # As QuerySet.get(): no ORDER BY where it may filter, and at most
                    # MAX_GET_RESULTS rows (within a slice the build made).
                    query = query.clone()
                    if query.can_filter() and not query.distinct_fields:
                        query.clear_ordering(force=True)
                    query.set_limits(high=MAX_GET_RESULTS)
                elif kind == "exists":
                    query = query.exists()
                compiled = _Compiled(queryset, query, slots, queryset.db)
                self._compiled[kind] = compiled
        return compiled

    def _check(self, values: dict[str, Any]) -> None:
        if values.keys() != self._fields.keys():
            raise StatementUsageError(
                f"values for {sorted(self._fields)} expected, got {sorted(values)}"
            )

    def _queryset(self, kind: str, values: dict[str, Any]) -> QuerySet:
        self._check(values)
        compiled = self._compiled_for(kind)
        query = copy.copy(compiled.query)
        query.__class__ = _StatementQuery
        query._statement = compiled
        query._statement_params = compiled.bind(values)
        template = compiled.queryset
        queryset = template.__class__.__new__(template.__class__)
        queryset.__dict__.update(template.__dict__)
        queryset._query = query
        queryset._result_cache = None
        queryset._prefetch_done = False
        return queryset

    def __call__(self, **values: Any) -> QuerySet:
        return self._queryset("all", values)

    def get(self, **values: Any) -> Any:
        """The one row, as QuerySet.get(): DoesNotExist or MultipleObjectsReturned."""
        found = list(self._queryset("get", values))
        if len(found) == 1:
            return found[0]
        model = self._compiled_for("get").queryset.model
        if not found:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        shown = len(found) if len(found) < MAX_GET_RESULTS else f"more than {MAX_GET_RESULTS - 1}"
        raise model.MultipleObjectsReturned(
            f"get() returned more than one {model._meta.object_name} -- it returned {shown}!"
        )

    def exists(self, **values: Any) -> bool:
        self._check(values)
        compiled = self._compiled_for("exists")
        return compiled.compiler(None, compiled.bind(values)).has_results()
