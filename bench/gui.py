"""The GUI DIDs list against the stock Django admin change list of the same model.

    python bench/gui.py [--runs 15] [--dids 1000000]
           [--database-url postgres://postgres@127.0.0.1:5432/portal_bench_latency]

Prepares the database as `latency.py` does (its `prepare()`: migrate, collectstatic,
`generate_dids` once), with production-like settings (DEBUG off, a secret key, no HTTPS
redirect, ALLOWED_HOSTS=testserver, DATABASE_CONN_MAX_AGE=600), and signs in one bench
account that can use both pages: role *admin* of the portal (which lets it read every
DID) and `is_staff`/`is_superuser` (which the Django admin asks for; the portal's role
does not grant it).

Each case is a pair of pages showing the same rows per page, with the same filter and
ordering as close as each allows:

- A: the portal's `/dids/` (django-filter + django-tables2), `per_page` in the URL;
- B: `/admin/dids/did/`, served by `dids.admin.DidAdmin` as it is, except its
  `list_per_page` set to A's page size. That takes a bench-only admin site (all of
  `admin.site`'s registrations copied, `Did` under a subclass of `DidAdmin`) mounted at
  `/admin/` in a bench-only URLconf that is otherwise the portal's own: the project's
  code is untouched and whatever is checked out is what gets measured.
- the last case compares the GUI list with its own CSV export of the same 500 rows
  (`/dids/export.csv?max_results=500`): the page should cost less than twice the CSV.

Requests go in-process through Django's full stack (middleware, view, SQL, template) and
the whole body is consumed. Each round runs every case, A and B back to back, alternating
which goes first; the medians and ratios all come from that one interleaved run, so a
busy machine slows both sides alike. Per request: wall ms, CPU ms of this process
(`time.process_time`, i.e. Python without PostgreSQL's own work) and, from one extra
untimed request, the number of queries (`CaptureQueriesContext`) and their SQL time.
Writes bench/results/gui.md and prints the same table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

from latency import prepare  # bench/ is on sys.path when this file runs as a script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "gui.md"
BENCH_URLCONF = "bench_gui_urls"
USERNAME = "bench-gui-admin"

GUI_ROW = re.compile(rb'<tr[^>]*\bdata-id="(\d+)"')
ADMIN_ROW = re.compile(rb'name="_selected_action" value="(\d+)"')


@dataclass
class Side:
    label: str
    url: str
    rows: re.Pattern[bytes] | None  # None: a CSV, one line per row after the header
    per_page: int | None = None  # the admin's list_per_page for this request
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    queries: int = 0
    sql_ms: float = 0.0
    size: int = 0
    ids: list[bytes] = field(default_factory=list)


@dataclass
class Case:
    label: str
    a: Side
    b: Side
    target: float | None = None  # A/B must stay below this, if given


def bench_urlconf() -> str:
    """Register (in sys.modules) the portal's URLconf with a bench admin site at /admin/."""
    from django.contrib import admin
    from django.urls import path

    import portal.urls
    from dids.admin import DidAdmin
    from dids.models import Did

    class BenchDidAdmin(DidAdmin):
        # Set per request (Side.per_page); the default is the GUI's usual page.
        list_per_page = 100
        search_fields = DidAdmin.search_fields or ("number",)

    admin.site.name  # noqa: B018  (admin.site is lazy: this makes it the real site)
    default = admin.site._wrapped
    site = type(default)(name="admin")
    for attribute, value in vars(default).items():
        if attribute not in ("_registry", "name"):
            setattr(site, attribute, value.copy() if isinstance(value, dict) else value)
    for model, model_admin in default._registry.items():
        site.register(model, BenchDidAdmin if model is Did else type(model_admin))

    module = types.ModuleType(BENCH_URLCONF)
    module.urlpatterns = [
        path("admin/", site.urls) if getattr(pattern, "namespace", None) == "admin" else pattern
        for pattern in portal.urls.urlpatterns
    ]
    for handler in ("handler400", "handler403", "handler404", "handler500"):
        if hasattr(portal.urls, handler):
            setattr(module, handler, getattr(portal.urls, handler))
    module.bench_did_admin = site._registry[Did]
    sys.modules[BENCH_URLCONF] = module
    return BENCH_URLCONF


def bench_account():
    from accounts.models import User

    account, _ = User.objects.update_or_create(
        username=USERNAME,
        defaults={
            "role": User.Role.ADMIN,
            "first_name": "Bench",
            "is_active": True,
            "is_staff": True,
            "is_superuser": True,
            "hide_terminated_dids": False,
            "items_per_page": 100,
        },
    )
    return account


def cases() -> list[Case]:
    # The GUI states Hide terminated explicitly (the admin hides nothing either).
    gui = "/dids/?search_hide_terminated_dids=0&"
    adm = "/admin/dids/did/"
    # DidAdmin has no `ordering`: the admin follows Did.Meta.ordering (number, id), as the
    # GUI's contract order does (number in "C" collation, id). o=5 is DidAdmin's `user`
    # column, ordered by the User model's Meta.ordering (username); the GUI's `owner` is
    # the end user's display name, else the system administrator's, else empty.
    return [
        Case(
            "first page, 100 rows",
            Side("GUI", gui + "per_page=100", GUI_ROW),
            Side("admin", adm, ADMIN_ROW, per_page=100),
        ),
        Case(
            "page 1000, 100 rows",
            Side("GUI", gui + "per_page=100&page=1000", GUI_ROW),
            Side("admin", adm + "?p=1000", ADMIN_ROW, per_page=100),
        ),
        Case(
            "sorted by owner (GUI owner, admin user), 100",
            Side("GUI", gui + "per_page=100&sort=owner", GUI_ROW),
            Side("admin", adm + "?o=5", ADMIN_ROW, per_page=100),
        ),
        Case(
            "status active, 100 rows",
            Side("GUI", gui + "per_page=100&search_status=active", GUI_ROW),
            Side("admin", adm + "?status__exact=active", ADMIN_ROW, per_page=100),
        ),
        Case(
            "number search 3706123, 100 rows",
            Side("GUI", gui + "per_page=100&search_did_number=3706123", GUI_ROW),
            Side("admin", adm + "?q=3706123", ADMIN_ROW, per_page=100),
        ),
        Case(
            "number search 4420, 100 rows",
            Side("GUI", gui + "per_page=100&search_did_number=4420", GUI_ROW),
            Side("admin", adm + "?q=4420", ADMIN_ROW, per_page=100),
        ),
        Case(
            "500-row page vs CSV of the same 500",
            Side("GUI", gui + "per_page=500", GUI_ROW),
            Side("CSV", "/dids/export.csv?search_hide_terminated_dids=0&max_results=500", None),
            target=2.0,
        ),
    ]


def request(client, side: Side) -> tuple[int, bytes]:
    module = sys.modules[BENCH_URLCONF]
    if side.per_page is not None:
        module.bench_did_admin.list_per_page = side.per_page
    response = client.get(side.url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


def rows_of(side: Side, body: bytes) -> list[bytes]:
    if side.rows is None:
        return body.splitlines()[1:]
    return side.rows.findall(body)


def check(client, side: Side) -> None:
    """One untimed request under CaptureQueriesContext: queries, SQL time, size, rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status, body = request(client, side)
    assert status == 200, (side.url, status, body[:300])
    side.queries = len(captured.captured_queries)
    side.sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    side.size = len(body)
    side.ids = rows_of(side, body)


def measure(client, side: Side) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    status, body = request(client, side)
    side.wall.append((time.perf_counter() - wall) * 1000)
    side.cpu.append((time.process_time() - cpu) * 1000)
    assert status == 200, (side.url, status)
    assert len(rows_of(side, body)) == len(side.ids), side.url


def git_state() -> str:
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head[:90] + (" (with uncommitted changes)" if dirty else "")


def table(all_cases: list[Case]) -> list[str]:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    lines = [
        "| case | A | A ms | B | B ms | A/B | A CPU ms | B CPU ms | A queries | B queries "
        "| A SQL ms | B SQL ms | rows A/B | same rows |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for case in all_cases:
        a, b = case.a, case.b
        ratio = med(a.wall) / med(b.wall)
        verdict = ""
        if case.target is not None:
            verdict = f" ({'<' if ratio < case.target else '≥'} {case.target:g}x)"
        same = "n/a (CSV)" if b.rows is None else ("yes" if a.ids == b.ids else "no")
        lines.append(
            f"| {case.label} | {a.label} | {med(a.wall):.0f} | {b.label} | {med(b.wall):.0f} "
            f"| {ratio:.2f}{verdict} | {med(a.cpu):.0f} | {med(b.cpu):.0f} "
            f"| {a.queries} | {b.queries} | {a.sql_ms:.0f} | {b.sql_ms:.0f} "
            f"| {len(a.ids)}/{len(b.ids)} | {same} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_latency"
    )
    options = parser.parse_args()
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    prepare(options.database_url, options.dids)

    import django
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from accounts.models import User
    from dids.models import Did

    assert not settings.DEBUG
    total, users = Did.objects.count(), User.objects.count()
    load_before = os.getloadavg()
    started = time.perf_counter()
    with override_settings(ROOT_URLCONF=bench_urlconf()):
        client = Client()
        client.force_login(bench_account())
        all_cases = cases()
        for case in all_cases:
            for side in (case.a, case.b):
                request(client, side)  # warm caches, templates and the connection
                check(client, side)
        for run in range(options.runs):
            for case in all_cases:
                for side in (case.a, case.b) if run % 2 == 0 else (case.b, case.a):
                    measure(client, side)
            print(f"round {run + 1}/{options.runs} done", flush=True)
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    mismatched = [c.label for c in all_cases if len(c.a.ids) != len(c.b.ids)]
    header = [
        "# GUI DIDs list vs the Django admin change list",
        "",
        f"- command: `.venv/bin/python bench/gui.py --runs {options.runs}`",
        f"- code: {git_state()}",
        f"- machine: {os.cpu_count()} cores; load average "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after; {elapsed:.0f} s in all",
        f"- data: PostgreSQL {connection.pg_version // 10000}, {total:,} DIDs, {users:,} "
        f"accounts (generate_dids: 5,000 users, 40 resellers)",
        f"- Django {django.get_version()}, DEBUG off, CONN_MAX_AGE "
        f"{settings.DATABASES['default'].get('CONN_MAX_AGE')}; median of {options.runs} "
        "interleaved runs per side",
        "- A/B: ratio of median wall times; CPU: this process only (not PostgreSQL); "
        "queries and SQL ms: one extra untimed request; same rows: the same DID ids in the "
        "same order",
        "",
    ]
    lines = header + table(all_cases)
    if mismatched:
        lines += ["", f"Row counts differ in: {', '.join(mismatched)}"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
