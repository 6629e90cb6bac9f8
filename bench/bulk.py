"""Bulk actions on 100,000 selected DIDs at 1,000,000 DIDs (PostgreSQL): DIDs/s, peak memory.

    .venv/bin/python bench/bulk.py [--dids 1000000] [--selected 100000] [--runs 3]
           [--database-url postgres://postgres@127.0.0.1:5432/big_bulk]
           [--output bench/bulk_results.md]

Fills the database once with `generate_dids` (kept between runs). The selection is
what a person gets with "Select all N DIDs that match the filters" on the list
filtered by `search_status=active&max_results=N`. For each action (close, make free,
set language) and each run, a fresh process signs in as an admin and posts, through
Django's full stack (middleware, view, FilterSet, services, template):

- the confirmation page (a dry run over every selected DID), then
- "apply" (every selected DID locked, checked, changed and its history written,
  a chunk of 1,000 per transaction),

and reports for each the seconds, the DIDs/s (selected DIDs per second) and the
peak of the process's resident memory above what it used before the request
(VmHWM, reset through /proc/self/clear_refs). The same at a tenth of the selection
shows whether memory grows with the selection. The baseline, measured in the same
run, is the per-DID service (`did_close`, `did_make_free`, `did_edit`: one
transaction of a few queries per DID) over the first `--baseline` DIDs of the same
selection. Between measurements the selected rows are restored from a copy and the
new history deleted (not timed), so every run starts from the same data.
Results go to `--output` (Markdown) and stdout. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/big_bulk"
ACTIONS = {
    # bulk action key: (the value posted, the per-DID service of the baseline)
    "close": ("", "did_close"),
    "make_free": ("", "did_make_free"),
    "set_language": ("lt", "did_edit"),
}


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SECURE_SSL", "false")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    # DEBUG off (no query log growing in memory); static names from collectstatic's manifest.
    os.environ.setdefault("DJANGO_STATIC_ROOT", str(ROOT / "bench" / "results" / "static"))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def prepare(database_url: str, dids: int) -> None:
    name = database_url.rsplit("/", 1)[-1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", server, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, check=False
    )
    configure(database_url)
    from django.core.management import call_command

    from accounts.models import User
    from dids.models import Did

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    missing = dids - Did.objects.count()
    if missing > 0:
        print(f"Generating {missing} DIDs (once; kept for later runs)…", flush=True)
        call_command("generate_dids", dids=missing)
    User.objects.get_or_create(
        username="bench-admin", defaults={"role": User.Role.ADMIN, "first_name": "Bench"}
    )


def query_for(selected: int) -> str:
    return f"search_status=active&max_results={selected}"


def selection_ids(selected: int) -> list[int]:
    """The ids the list selects for the query, as the bulk view does."""
    from django.http import QueryDict

    from accounts.models import User
    from dids.filters import DidFilterSet
    from dids.models import Did

    admin = User.objects.get(username="bench-admin")
    filterset = DidFilterSet(
        QueryDict(query_for(selected)), Did.objects.visible_to(admin), account=admin
    )
    return list(filterset.windowed().order_by("id").values_list("id", flat=True))


# --- Keeping every run on the same data ---------------------------------------------


def save(ids: list[int]) -> int:
    """Copy the selected rows; returns the last history id, to delete what comes after."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bulk_saved")
        cursor.execute(
            "CREATE TABLE bench_bulk_saved AS SELECT * FROM dids_did WHERE id = ANY(%s)", [ids]
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM dids_didhistory")
        return cursor.fetchone()[0]


def restore(last_history_id: int) -> None:
    from django.db import connection

    from dids.models import Did

    columns = [f.column for f in Did._meta.concrete_fields if not f.primary_key]
    assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE dids_did d SET {assignments} FROM bench_bulk_saved s WHERE d.id = s.id"  # noqa: S608
        )
        cursor.execute("DELETE FROM dids_didhistory WHERE id > %s", [last_history_id])
        cursor.execute("VACUUM ANALYZE dids_did")
        cursor.execute("VACUUM ANALYZE dids_didhistory")


# --- One measurement, in a fresh process -----------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status value in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _server_cpu() -> float:
    """CPU seconds so far of the PostgreSQL backend serving this process's connection
    (the server runs on this machine: its /proc entry is readable)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _measured(call) -> dict[str, float]:
    """Seconds, CPU seconds of this process and of its database backend, and the peak
    RSS growth in KiB, of one call."""
    server = _server_cpu()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    call()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = _status("VmHWM") - before
    return {"seconds": seconds, "cpu": cpu, "db_cpu": _server_cpu() - server, "peak_kib": peak}


def measure_bulk(action: str, selected: int) -> dict:
    import re

    from django.test import Client

    from accounts.models import User
    from dids.models import DidHistory

    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    assert client.get("/dids/?" + query_for(10)).status_code == 200  # warm-up
    value, _ = ACTIONS[action]
    data = {"action": action, "select_across": "1", "query": query_for(selected)}
    if value:
        data["value"] = value
    pages: dict = {}

    def confirm():
        pages["confirm"] = client.post("/dids/bulk/", {**data, "step": "confirm"})

    def apply():
        pages["apply"] = client.post("/dids/bulk/", {**data, "step": "apply"})

    last = DidHistory.objects.order_by("-id").values_list("id", flat=True).first() or 0
    confirmed = _measured(confirm)
    html = pages["confirm"].content.decode()
    assert pages["confirm"].status_code == 200, html[:500]
    counted = int(re.search(r'id="bulk-changed">([\d,]+)<', html).group(1).replace(",", ""))
    applied = _measured(apply)
    assert pages["apply"].status_code == 302, pages["apply"].status_code
    changed = DidHistory.objects.filter(id__gt=last).count()
    assert changed == counted, (changed, counted)
    return {
        **{f"confirm_{key}": value for key, value in confirmed.items()},
        **{f"apply_{key}": value for key, value in applied.items()},
        "load": os.getloadavg()[0],
        "changed": changed,
    }


def measure_single(action: str, selected: int, sample: int) -> dict:
    from accounts.models import User
    from dids import services
    from dids.services import DidActionRefused

    admin = User.objects.get(username="bench-admin")
    value, name = ACTIONS[action]
    service = getattr(services, name)
    ids = selection_ids(selected)[:sample]
    extra = {"fields": {"language": value}} if name == "did_edit" else {}
    changed = 0

    def loop():
        nonlocal changed
        for pk in ids:
            try:
                service(did_id=pk, actor=admin, source="gui", address="127.0.0.1", **extra)
                changed += 1
            except DidActionRefused:
                pass

    return {**_measured(loop), "dids": len(ids), "changed": changed}


def child(args: list[str], database_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--database-url", database_url, "--child", *args],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


# --- The run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--selected", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=2_000, help="DIDs for the per-DID loop")
    parser.add_argument("--actions", nargs="+", default=list(ACTIONS), choices=list(ACTIONS))
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--output", default=str(ROOT / "bench" / "bulk_results.md"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        configure(options.database_url)
        kind, action, selected, *rest = options.child
        if kind == "bulk":
            result = measure_bulk(action, int(selected))
        else:
            result = measure_single(action, int(selected), int(rest[0]))
        print(json.dumps(result))
        return

    prepare(options.database_url, options.dids)
    from dids.models import Did

    total = Did.objects.count()
    small = options.selected // 10
    ids = selection_ids(options.selected)
    assert len(ids) == options.selected, f"only {len(ids)} active DIDs"
    last = save(ids)
    print(f"{total:,} DIDs; {len(ids):,} selected ({query_for(options.selected)})", flush=True)

    results: dict[str, dict[str, list[dict]]] = {}
    for action in options.actions:
        runs = results[action] = {"bulk": [], "small": [], "single": []}
        for run in range(options.runs):
            for kind, args in (
                ("single", ["single", action, str(options.selected), str(options.baseline)]),
                ("small", ["bulk", action, str(small)]),
                ("bulk", ["bulk", action, str(options.selected)]),
            ):
                runs[kind].append(child(args, options.database_url))
                restore(last)
            bulk = runs["bulk"][-1]
            print(
                f"{action} run {run + 1}: confirm {bulk['confirm_seconds']:.1f} s, "
                f"apply {bulk['apply_seconds']:.1f} s, {bulk['changed']:,} changed",
                flush=True,
            )
    report = render(results, total, options)
    print(report)
    Path(options.output).write_text(report)


def render(results: dict, total: int, options: argparse.Namespace) -> str:
    def med(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    def busy(rows: list[dict], step: str) -> float:
        """CPU seconds of the web process and its database backend: the time the work
        takes on a machine with nothing else to do."""
        return med(rows, f"{step}cpu") + med(rows, f"{step}db_cpu")

    selected, small = options.selected, options.selected // 10
    loads = [run["load"] for runs in results.values() for run in runs["bulk"]]
    lines = [
        "# Bulk actions: measured",
        "",
        f"`.venv/bin/python bench/bulk.py --dids {options.dids} --selected {selected} "
        f"--runs {options.runs} --baseline {options.baseline}` on {datetime.now(UTC):%Y-%m-%d} "
        f"({platform.machine()}, {os.cpu_count()} cores, PostgreSQL on localhost; load "
        f"average {min(loads):.1f} to {max(loads):.1f} during the runs).",
        f"{total:,} DIDs; selection: all DIDs of `{query_for(selected)}` (the list's "
        f'"Select all"). Medians of {options.runs} runs, each in a fresh process on the '
        "same data.",
        "",
        "Wall: seconds the request took. CPU: seconds of CPU of the web process plus its "
        "PostgreSQL backend, what the request takes when nothing else runs (the two take "
        "turns). DIDs/s: selected DIDs (changed and skipped) per second of the apply "
        "request. Per-DID service: the first "
        f"{options.baseline:,} DIDs of the selection, one service call (one transaction) "
        "each; ratio: bulk DIDs per CPU second over per-DID DIDs per CPU second. Peak "
        "memory: the web process's resident-set high-water mark above its size before "
        f"the request, the larger of confirmation and apply, at {small:,} and "
        f"{selected:,} selected DIDs.",
        "",
        f"| action | changed of {selected:,} | confirmation page, wall / CPU | apply, wall / CPU "
        "| DIDs/s wall / per CPU s | per-DID service, DIDs/s wall / per CPU s | ratio "
        "| peak memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for action, runs in results.items():
        bulk, single, few = runs["bulk"], runs["single"], runs["small"]
        rate = selected / med(bulk, "apply_seconds")
        rate_cpu = selected / busy(bulk, "apply_")
        dids = med(single, "dids")
        single_rate, single_cpu = dids / med(single, "seconds"), dids / busy(single, "")
        peak_small = max(med(few, "apply_peak_kib"), med(few, "confirm_peak_kib")) / 1024
        peak = max(med(bulk, "apply_peak_kib"), med(bulk, "confirm_peak_kib")) / 1024
        lines.append(
            f"| {action.replace('_', ' ')} | {int(med(bulk, 'changed')):,} "
            f"| {med(bulk, 'confirm_seconds'):.0f} s / {busy(bulk, 'confirm_'):.0f} s "
            f"| {med(bulk, 'apply_seconds'):.0f} s / {busy(bulk, 'apply_'):.0f} s "
            f"| {rate:,.0f} / {rate_cpu:,.0f} | {single_rate:,.0f} / {single_cpu:,.0f} "
            f"| {rate_cpu / single_cpu:.1f}x | {peak_small:.0f} MiB → {peak:.0f} MiB |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
