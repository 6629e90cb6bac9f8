"""CSV import at scale (PostgreSQL): rows per second and peak memory of the dry run and
the import of 100,000-row files, against an inventory of 1,000,000 DIDs.

    .venv/bin/python bench/import.py                       # 100,000 rows, 3 runs
    .venv/bin/python bench/import.py --rows 100000 --runs 3 --dids 1000000 \\
        --database-url postgres://postgres@127.0.0.1:5432/big_create

It uses its own database (default `big_create`, created if missing, migrated, filled
with `generate_dids` up to `--dids` DIDs, kept between runs). Each measurement runs in
a fresh process, as an operator runs `manage.py import_dids FILE [--dry-run]`:

- baseline: reading the file only (`dids.imports.read_layout`: UTF-8 decoding, CSV
  parsing, the repeated-numbers check), the floor no import can go under;
- create: 100,000 new numbers (did, provider_id, language, comment), dry run then import;
- update: the CSV export of 100,000 existing DIDs with another comment, dry run then
  import (every row one did_apply: locked, checked, one history entry);
- unchanged: the same file imported again (the second import changes nothing);
- page: the import pages with a file of the page's limit (GUI_MAX_ROWS updates): the
  upload (its dry run) and "Import" (a fresh plan, compared, then applied).

For each: the median time of the work (Django's start-up left out), rows/s, the ratio
to the baseline's time, the process's peak RSS (VmHWM) and its growth over the RSS
before the work. Numbers created by the benchmark start with 999 and are deleted at the
start of each run. The figures are printed and written to bench/results/import.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/big_create"
RESULTS = ROOT / "bench" / "results" / "import.json"
PREFIX = "999"


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SECURE_SSL", "false")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import django

    django.setup()


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(dids: int) -> None:
    """Migrate, fill the inventory up to `dids`, have a system administrator to act as."""
    from django.core.management import call_command

    from accounts.models import User
    from dids.models import Did

    call_command("migrate", verbosity=0)
    missing = dids - Did.objects.exclude(number__startswith=PREFIX).count()
    if missing > 0:
        started = time.perf_counter()
        call_command("generate_dids", dids=missing, no_progress=True, verbosity=0)
        print(f"generated {missing:,} DIDs in {time.perf_counter() - started:.0f}s")
    if User.objects.system_administrator() is None:
        User.objects.create(
            username="bench-admin", role=User.Role.ADMIN, is_system_administrator=True
        )


def clean() -> None:
    """Drop what earlier runs created (their history goes with them)."""
    from dids.models import Did

    Did.objects.filter(number__startswith=PREFIX).delete()


def write_files(folder: Path, rows: int, runs: int, page_rows: int) -> dict[str, list[Path]]:
    """Per run: a file of new numbers and an edited export of existing DIDs."""
    from accounts.models import User
    from dids.exports import csv_lines
    from dids.models import Did, Provider

    admin = User.objects.system_administrator()
    provider = Provider.objects.filter(owner=None).order_by("pk").first()
    existing = Did.objects.exclude(number__startswith=PREFIX).for_listing().in_contract_order()
    # Each run and the page get DIDs of their own: an import changes their updated_at,
    # and an export from before that is (rightly) refused for them.
    wanted = (rows + page_rows) * runs
    exported = list(csv.reader(io.StringIO("".join(csv_lines(existing[:wanted], admin)))))
    header, body = exported[0], exported[1:]
    comment = header.index("comment")
    stamp = time.strftime("%Y%m%d-%H%M%S")  # comments no earlier run has written
    files: dict[str, list[Path]] = {"create": [], "update": [], "page": []}
    for run in range(runs):
        create = folder / f"create-{run}.csv"
        with create.open("w", newline="") as out:
            out.write("did,provider_id,language,comment\n")
            for i in range(rows):
                out.write(f"{PREFIX}{run:02d}{i:07d},{provider.pk},en,bench block {run}\n")
        files["create"].append(create)
        start = (rows + page_rows) * run
        for kind, first, count in (("update", start, rows), ("page", start + rows, page_rows)):
            path = folder / f"{kind}-{run}.csv"
            with path.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                for row in body[first : first + count]:
                    row = list(row)
                    row[comment] = f"bench {stamp} {kind} {run}"
                    writer.writerow(row)
            files[kind].append(path)
    return files


# --- One measurement, in a fresh process ------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status value in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(phase: str, path: str) -> dict:
    from django.core.management import call_command

    from dids import imports

    if phase == "page":
        return measure_page(path)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    out = io.StringIO()
    started = time.perf_counter()
    if phase == "baseline":
        with open(path, "rb") as source:
            rows = imports.read_layout(source).rows
        summary = f"{rows} rows read"
    else:
        args = [path, "--no-progress"] + (["--dry-run"] if phase.endswith("dry run") else [])
        call_command("import_dids", *args, stdout=out, stderr=io.StringIO())
        summary = out.getvalue().strip().splitlines()[-1]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": _status("VmHWM"),
        "summary": summary,
    }


def measure_page(path: str) -> dict:
    """Upload (the dry run) and Import through the pages, as a browser would post them."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from dids.models import DidImport

    # The pages name static files; without collectstatic there is no manifest to read.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    client.force_login(User.objects.system_administrator())
    client.get("/dids/import/")  # warm-up
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    started = time.perf_counter()
    with open(path, "rb") as source:
        response = client.post("/dids/import/", {"file": source})
    assert response.status_code == 302, response.content[:500]
    uploaded = time.perf_counter()
    stored = DidImport.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[-1])
    applied = client.post(response.url, {"digest": stored.plan_digest})
    assert applied.status_code == 302
    done = time.perf_counter()
    stored.refresh_from_db()
    counts = stored.result["counts"]
    return {
        "seconds": done - started,
        "upload_seconds": uploaded - started,
        "import_seconds": done - uploaded,
        "rss_before_kib": before,
        "rss_peak_kib": _status("VmHWM"),
        "summary": f"page: {counts}",
    }


# --- The run ------------------------------------------------------------------------------

PHASES = (
    ("baseline", "update"),
    ("create: dry run", "create"),
    ("create: import", "create"),
    ("update: dry run", "update"),
    ("update: import", "update"),
    ("unchanged: import again", "update"),
    ("page", "page"),
)


def child(phase: str, path: Path, database_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", phase, str(path), "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dids", type=int, default=1_000_000, help="inventory size")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        configure(args.database_url)
        print(json.dumps(measure(*args.measure)))
        return

    ensure_database(args.database_url)
    configure(args.database_url)
    from dids.imports import GUI_MAX_ROWS

    prepare(args.dids)
    results: dict[str, list[dict]] = {phase: [] for phase, _ in PHASES}
    with tempfile.TemporaryDirectory() as folder:
        files = write_files(Path(folder), args.rows, args.runs, min(args.rows, GUI_MAX_ROWS))
        for run in range(args.runs):
            clean()
            for phase, kind in PHASES:
                result = child(phase, files[kind][run], args.database_url)
                results[phase].append(result)
                print(f"run {run + 1}, {phase}: {result['seconds']:.1f}s, {result['summary']}")
    clean()
    report(results, args)


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    from dids.imports import GUI_MAX_ROWS

    page_rows = min(args.rows, GUI_MAX_ROWS)

    def median(phase: str, key: str) -> float:
        return statistics.median(run[key] for run in results[phase])

    base = median("baseline", "seconds")
    title = (
        f"CSV import, PostgreSQL, {args.dids:,} DIDs, {args.rows:,}-row files "
        f"(page: {page_rows:,} rows), median of {args.runs} runs"
    )
    header = (
        f"{'phase':<24} {'time s':>8} {'rows/s':>8} {'x base':>7} "
        f"{'RSS peak MiB':>13} {'growth MiB':>11}"
    )
    lines = [title, header, "-" * len(header)]
    table = {}
    for phase, _ in PHASES:
        seconds = median(phase, "seconds")
        rows = page_rows if phase == "page" else args.rows
        peak = median(phase, "rss_peak_kib") / 1024
        growth = statistics.median(
            (r["rss_peak_kib"] - r["rss_before_kib"]) / 1024 for r in results[phase]
        )
        table[phase] = {
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "ratio_to_baseline": round(seconds / base, 1),
            "rss_peak_mib": round(peak, 1),
            "rss_growth_mib": round(growth, 1),
        }
        lines.append(
            f"{phase:<24} {seconds:>8.1f} {rows / seconds:>8.0f} {seconds / base:>7.1f} "
            f"{peak:>13.1f} {growth:>11.1f}"
        )
    page = results["page"]
    lines.append(
        f"page: upload (dry run) {statistics.median(r['upload_seconds'] for r in page):.1f}s, "
        f"Import {statistics.median(r['import_seconds'] for r in page):.1f}s"
    )
    print("\n".join(lines))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "title": title,
                "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "load_average": os.getloadavg(),
                "phases": table,
                "runs": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
