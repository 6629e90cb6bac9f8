"""The numbers of the home page and of the number blocks, for one viewer.

Everything starts from `Did.objects.visible_to(account)`: a reseller's overview counts
only the DIDs it holds, a user's only its own. Each number comes with the DIDs list URL
that shows exactly those DIDs (the list's `dids_get` parameters, with
`search_hide_terminated_dids=0` so that the account's remembered *Hide terminated DIDs*
cannot make the list disagree with the card).

The counts come from one grouped query per page (an index serves each: see the
indexes of `Did`), so the home page and the blocks stay fast at a million DIDs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import urlencode

from django.db import OperationalError, connections, transaction
from django.db.models import Count, F, IntegerField, QuerySet
from django.db.models.functions import Cast, Left
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

from .models import Did, Provider

# Cards list the largest groups; the rest are counted in one "others" line.
TOP = 10
RECENT = 10
RELEASE_DAYS = 7
MONTHS = 12
# A DID counts as in use when it is reserved, active or closed; terminated DIDs are out
# of the inventory, so utilisation = in use / (all but terminated).
IN_USE = (Did.Status.RESERVED, Did.Status.ACTIVE, Did.Status.CLOSED)


def dids_url(**params: Any) -> str:
    """The DIDs list showing exactly the DIDs these parameters select, terminated included."""
    query = {name: value for name, value in params.items() if value is not None}
    query["search_hide_terminated_dids"] = "0"
    return f"{reverse('dids:list')}?{urlencode(query)}"


@dataclass(frozen=True)
class Figure:
    """One number on a card and the list that shows exactly those DIDs."""

    label: str
    count: int
    url: str | None = None
    key: str = ""  # e.g. the status, for the chart's colours


@dataclass
class StatusChart:
    """A horizontal bar: one segment per status, as wide as its share."""

    segments: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def status_chart(figures: list[Figure], width: int = 600) -> StatusChart:
    total = sum(f.count for f in figures)
    chart = StatusChart(total=total)
    x = 0.0
    for figure in figures:
        if not figure.count:
            continue
        w = width * figure.count / total
        chart.segments.append({"figure": figure, "x": round(x, 2), "width": round(w, 2)})
        x += w
    return chart


def month_chart(months: list[Figure], width: int = 600, height: int = 120) -> list[dict]:
    """Vertical bars, one per month; the tallest fills the height."""
    top = max((m.count for m in months), default=0) or 1
    slot = width / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        h = round(height * month.count / top, 2)
        bars.append(
            {
                "figure": month,
                "x": round(index * slot + slot * 0.1, 2),
                "width": round(slot * 0.8, 2),
                "y": round(height - h, 2),
                "height": h,
                "label_x": round(index * slot + slot / 2, 2),
            }
        )
    return bars


def _statuses(counts: Counter) -> list[Figure]:
    return [
        Figure(label, counts.get(value, 0), dids_url(search_status=value), value)
        for value, label in Did.Status.choices
    ]


def _top(figures: list[Figure]) -> tuple[list[Figure], int]:
    """The largest TOP figures (ties by label) and how many DIDs the rest hold."""
    ordered = sorted(figures, key=lambda f: (-f.count, f.label))
    return ordered[:TOP], sum(f.count for f in ordered[TOP:])


def _account_label(account: User) -> str:
    name = account.display_name
    return name if name == account.username else f"{name} ({account.username})"


@dataclass
class Overview:
    """Everything the home page shows to one viewer."""

    total: Figure
    statuses: list[Figure]
    chart: StatusChart
    by_reseller: list[Figure] = field(default_factory=list)
    other_resellers: int = 0
    by_provider: list[Figure] = field(default_factory=list)
    other_providers: int = 0
    by_user: list[Figure] = field(default_factory=list)
    other_users: int = 0
    releasing: list[Did] = field(default_factory=list)
    releasing_count: int = 0
    recent: list[Did] = field(default_factory=list)
    months: list[Figure] = field(default_factory=list)
    month_bars: list[dict] = field(default_factory=list)


def overview(account: User, visible: QuerySet, *, now: datetime | None = None) -> Overview:
    """The home page of `account`; `visible` is `Did.objects.visible_to(account)`, with
    expired closed DIDs already released."""
    now = now or timezone.now()
    # COUNT(*), not COUNT(id): the index did_overview then answers without the table.
    if account.sees_all_dids:
        rows = list(
            visible.order_by()
            .values_list("status", "reseller_id", "provider_id")
            .annotate(n=Count("*"))
        )
    elif account.is_reseller:
        rows = list(visible.order_by().values_list("status", "user_id").annotate(n=Count("*")))
    else:
        rows = list(visible.order_by().values_list("status").annotate(n=Count("*")))
    by_status: Counter = Counter()
    for row in rows:
        by_status[row[0]] += row[-1]
    statuses = _statuses(by_status)
    total = Figure("All DIDs", sum(by_status.values()), dids_url())
    result = Overview(total=total, statuses=statuses, chart=status_chart(statuses))

    if account.sees_all_dids:
        _operator_cards(result, visible, rows)
    elif account.is_reseller:
        _reseller_cards(result, account, rows)

    soon = visible.filter(
        status=Did.Status.CLOSED,
        reserved_for_user_till__gt=now,
        reserved_for_user_till__lte=now + timedelta(days=RELEASE_DAYS),
    )
    result.releasing_count = soon.count()
    if result.releasing_count:
        result.releasing = list(
            soon.select_related("user").order_by("reserved_for_user_till", "id")[:RECENT]
        )
    result.recent = list(
        visible.filter(updated_at__isnull=False)
        .select_related("user")
        .order_by("-updated_at", "-id")[:RECENT]
    )
    result.months = added_per_month(visible, now=now)
    result.month_bars = month_chart(result.months)
    return result


def _operator_cards(result: Overview, visible: QuerySet, rows: list[tuple]) -> None:
    """Admins and accountants: by reseller and by provider."""
    held: Counter = Counter()
    providers: Counter = Counter()
    for _status, reseller_id, provider_id, n in rows:
        if reseller_id is not None:
            held[reseller_id] += n
        providers[provider_id] += n
    # `search_user=R` lists the DIDs whose reseller *or end user* is R: count the rare
    # DIDs whose end user is a reseller account too, so that card and list agree.
    as_user = (
        visible.filter(user__role=User.Role.RESELLER)
        .exclude(reseller_id=F("user_id"))
        .order_by()
        .values_list("user_id")
        .annotate(n=Count("*"))
    )
    for user_id, n in as_user:
        held[user_id] += n
    resellers = User.objects.in_bulk(list(held))
    figures = [
        Figure(_account_label(resellers[pk]), n, dids_url(search_user=pk))
        for pk, n in held.items()
        if pk in resellers
    ]
    result.by_reseller, result.other_resellers = _top(figures)
    names = Provider.objects.in_bulk([pk for pk in providers if pk is not None])
    figures = [
        Figure(names[pk].name, n, dids_url(search_provider=pk))
        for pk, n in providers.items()
        if pk is not None and pk in names
    ]
    result.by_provider, result.other_providers = _top(figures)
    if providers.get(None):
        result.by_provider.append(
            Figure("No provider", providers[None], dids_url(search_provider=0), "none")
        )


def _reseller_cards(result: Overview, reseller: User, rows: list[tuple]) -> None:
    """A reseller: its DIDs by end user."""
    users: Counter = Counter()
    for _status, user_id, n in rows:
        users[user_id] += n
    # `search_user=<the reseller>` would list all of its DIDs: no line for that one.
    users.pop(reseller.pk, None)
    accounts = User.objects.in_bulk([pk for pk in users if pk is not None])
    figures = [
        Figure(_account_label(accounts[pk]), n, dids_url(search_user=pk))
        for pk, n in users.items()
        if pk is not None and pk in accounts
    ]
    result.by_user, result.other_users = _top(figures)
    if users.get(None):
        result.by_user.append(Figure("No end user", users[None], dids_url(search_user=0), "none"))


def month_starts(now: datetime, months: int = MONTHS) -> list[datetime]:
    """The first moment of each of the last `months` months and of the next one, in the
    current time zone (the viewer's), oldest first."""
    local = timezone.localtime(now)
    year, month = local.year, local.month
    starts = []
    for _ in range(months):
        starts.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    starts.reverse()
    following = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
    zone = timezone.get_current_timezone()
    return [datetime(y, m, 1, tzinfo=zone) for y, m in [*starts, following]]


def added_per_month(visible: QuerySet, *, now: datetime) -> list[Figure]:
    """DIDs created in each of the last twelve months (this one included).

    One count per month: each is a range scan of an index on the creation time
    (`did_created`, or `did_reseller_created` for a reseller), where one query grouping
    by month would read every DID.
    """
    starts = month_starts(now)
    figures = []
    for start, end in pairwise(starts):
        count = visible.filter(created_at__gte=start, created_at__lt=end).count()
        figures.append(Figure(start.strftime("%b %Y"), count, key=start.strftime("%b")))
    return figures


# --- Number blocks -------------------------------------------------------------

MIN_DIGITS = 1
MAX_DIGITS = 20
DEFAULT_DIGITS = 8
# The blocks query gives up after this long (PostgreSQL): see TooManyBlocks.
BLOCKS_TIMEOUT_MS = 5000


class TooManyBlocks(Exception):
    """Counting the blocks took too long: the prefix leaves about one DID per block."""

    def __init__(self, digits: int) -> None:
        self.digits = digits
        super().__init__(
            f"Grouping by the first {digits} characters makes too many blocks (about one "
            "DID each) to count in time: choose a shorter prefix."
        )


@dataclass(frozen=True)
class Block:
    """DIDs whose number starts with `prefix` (None: numbers shorter than the prefix)."""

    prefix: str | None
    total: int
    counts: dict[str, int]
    utilisation: float | None

    @property
    def in_use(self) -> int:
        return sum(self.counts[s] for s in IN_USE)

    def url(self, status: str | None = None) -> str | None:
        if self.prefix is None:
            return None
        return dids_url(search_did_number=f"{self.prefix}%", search_status=status)

    @property
    def figures(self) -> list[Figure]:
        return [
            Figure(label, self.counts[value], self.url(value), value)
            for value, label in Did.Status.choices
        ]


def number_blocks(
    visible: QuerySet, *, digits: int, offset: int, limit: int
) -> tuple[list[Block], int]:
    """One page of blocks of `digits` leading characters and how many blocks there are.

    One query, grouping twice: the DIDs by `LEFT(number, digits)` and status (a count
    each), then those rows by block (`UPPER`, as the DIDs list's number filter ignores
    case), counting each status, sorted by utilisation (most used first), then prefix,
    with the number of blocks on every row (`COUNT(*) OVER ()`). Numbers shorter than the
    prefix form one group of their own, listed last. On PostgreSQL, statistics on
    `LEFT(number, n)` for every allowed n (migration dids 0005) tell the planner how few
    groups there are, so it counts in parallel.
    """
    by_prefix = (
        visible.order_by()
        .annotate(prefix=Left("number", digits))
        .values("prefix", "status")
        # An integer count, so that the sums over it stay integers (not numeric).
        .annotate(n=Cast(Count("*"), IntegerField()))
    )
    inner, inner_params = by_prefix.query.sql_with_params()
    statuses = list(Did.Status.values)
    per_status = ", ".join(
        f"COALESCE(SUM(n) FILTER (WHERE status = %s), 0) AS n_{value}" for value in statuses
    )
    in_use = ", ".join(["%s"] * len(IN_USE))
    sql = (
        f"SELECT block, SUM(n) AS total, {per_status}, "  # noqa: S608 (no value is interpolated)
        "CASE WHEN block IS NULL THEN NULL ELSE "
        f"CAST(COALESCE(SUM(n) FILTER (WHERE status IN ({in_use})), 0) AS DOUBLE PRECISION) "
        "* 100 / NULLIF(COALESCE(SUM(n) FILTER (WHERE status <> %s), 0), 0) END AS utilisation, "
        "COUNT(*) OVER () AS block_count "
        "FROM (SELECT CASE WHEN LENGTH(prefix) >= %s THEN UPPER(prefix) END AS block, status, n "
        f"FROM ({inner}) AS by_prefix) AS by_block "
        "GROUP BY block "
        "ORDER BY utilisation DESC NULLS LAST, block ASC NULLS LAST "
        "LIMIT %s OFFSET %s"
    )
    params = [
        *statuses,
        *IN_USE,
        Did.Status.TERMINATED,
        digits,
        *inner_params,
        limit,
        offset,
    ]
    connection = connections[visible.db]
    with transaction.atomic(using=visible.db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A prefix as long as the numbers makes a block of every DID: refuse clearly
            # rather than keep the page (and a worker) busy.
            cursor.execute("SET LOCAL statement_timeout = %s", [f"{BLOCKS_TIMEOUT_MS}ms"])
        try:
            cursor.execute(sql, params)
        except OperationalError as error:
            raise TooManyBlocks(digits) from error
        rows = cursor.fetchall()
    blocks = [
        Block(
            prefix=row[0],
            total=int(row[1]),
            counts={value: int(count) for value, count in zip(statuses, row[2:7], strict=True)},
            utilisation=None if row[7] is None else float(row[7]),
        )
        for row in rows
    ]
    return blocks, int(rows[0][8]) if rows else 0
