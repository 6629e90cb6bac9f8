"""Peak memory of a full dids_get response at different numbers of DIDs (PostgreSQL).

Shows that the response is streamed: memory must not grow with the number of rows.

    .venv/bin/python bench/dids_get_memory.py                      # 10k and 100k DIDs
    .venv/bin/python bench/dids_get_memory.py --sizes 10000 100000 300000 --repeat 5

It uses its own database (default `portal_bench`, created if missing, migrated),
loads each size once with bulk_create (one reseller per size holding exactly that
many DIDs, so every size runs the very same query), then measures each response
in a fresh process, `--repeat` times:

- RSS peak: the process's resident-set high-water mark (VmHWM, reset through
  /proc/self/clear_refs after a warm-up request) while one whole response is
  produced and read, and its growth over the RSS before the request;
- tracemalloc peak: the peak of Python allocations during a second run.

It prints medians and the ratio of each size to the smallest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"


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


def load(sizes: list[int]) -> None:
    """One reseller `bench<N>` per size, holding exactly N DIDs (kept between runs)."""
    from django.core.management import call_command

    from accounts.models import ApiSettings, User
    from dids.models import Device, DialPlan, Did, Provider

    call_command("migrate", verbosity=0)
    ApiSettings.objects.update_or_create(
        reseller=None, defaults={"allow_api": True, "api_secret_key": "secret"}
    )
    provider, _ = Provider.objects.get_or_create(name="Bench carrier")
    plan, _ = DialPlan.objects.get_or_create(name="Bench IVR", type=DialPlan.Type.IVR)
    for size in sizes:
        reseller, _ = User.objects.get_or_create(
            username=f"bench{size}",
            defaults={"role": User.Role.RESELLER, "first_name": "Bench", "last_name": str(size)},
        )
        ApiSettings.objects.update_or_create(
            reseller=reseller, defaults={"allow_api": True, "api_secret_key": "secret"}
        )
        if Did.objects.filter(reseller=reseller).count() == size:
            continue
        Did.objects.filter(reseller=reseller).delete()
        customer, _ = User.objects.get_or_create(
            username=f"bench{size}-customer",
            defaults={"role": User.Role.USER, "owner": reseller, "first_name": "Customer"},
        )
        device, _ = Device.objects.get_or_create(type="SIP", name=f"b{size}", user=customer)
        started = time.perf_counter()
        batch: list[Did] = []
        for i in range(size):
            batch.append(
                Did(
                    number=f"{size:07d}{i:09d}",
                    status=Did.Status.ACTIVE if i % 2 else Did.Status.FREE,
                    provider=provider,
                    reseller=reseller,
                    user=customer if i % 2 else None,
                    device=device if i % 2 else None,
                    dial_plan=plan if i % 3 == 0 else None,
                    language="en",
                    reseller_comment=f"row {i} <&> ünï",
                    tone_zone="lt",
                )
            )
            if len(batch) == 5000:
                Did.objects.bulk_create(batch)
                batch.clear()
        Did.objects.bulk_create(batch)
        print(f"loaded {size} DIDs in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def _status(field: str) -> int:
    """A /proc/self/status value in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _one_response(username: str, **params: str) -> tuple[int, int]:
    """Produce and read one full response; (bytes, rows). Nothing is kept."""
    from django.test import Client

    data = {"u": username, "hash": _HASH, **params}
    response = Client().post("/billing/api/dids_get", data)
    assert response.status_code == 200
    assert response.streaming
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"<did><did>")
    response.close()
    return size, rows


_HASH = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"  # sha1("secret")


def measure(size: int) -> dict[str, float]:
    """In a fresh process: RSS high-water growth, then tracemalloc peak, of one response."""
    username = f"bench{size}"
    _one_response(username, max_results="1")  # warm-up: imports, connection, caches
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    started = time.perf_counter()
    size_bytes, rows = _one_response(username)
    seconds = time.perf_counter() - started
    rss_peak = _status("VmHWM")
    assert rows == size, (rows, size)
    tracemalloc.start()
    _one_response(username)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": rows,
        "bytes": size_bytes,
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": rss_peak,
        "traced_peak_kib": traced_peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        configure(args.database_url)
        print(json.dumps(measure(args.measure)))
        return

    ensure_database(args.database_url)
    configure(args.database_url)
    sizes = sorted(args.sizes)
    load(sizes)

    results: dict[int, list[dict[str, float]]] = {}
    for size in sizes:
        results[size] = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", str(size), "--database-url",
                 args.database_url],
                check=True, capture_output=True, text=True, cwd=ROOT,
            ).stdout  # fmt: skip
            results[size].append(json.loads(out.strip().splitlines()[-1]))

    def median(size: int, key: str) -> float:
        return statistics.median(run[key] for run in results[size])

    base = sizes[0]
    header = (
        f"{'DIDs':>9} {'body MiB':>9} {'time s':>7} {'RSS before':>11} {'RSS peak':>9} "
        f"{'growth':>7} {'x peak':>7} {'traced peak':>12} {'x traced':>9}"
    )
    print(f"dids_get, full response, PostgreSQL, median of {args.repeat} runs per size (MiB)")
    print(header)
    print("-" * len(header))
    for size in sizes:
        before = median(size, "rss_before_kib") / 1024
        peak = median(size, "rss_peak_kib") / 1024
        growth = statistics.median(
            (run["rss_peak_kib"] - run["rss_before_kib"]) / 1024 for run in results[size]
        )
        traced = median(size, "traced_peak_kib") / 1024
        peak_ratio = peak / (median(base, "rss_peak_kib") / 1024)
        traced_ratio = traced / (median(base, "traced_peak_kib") / 1024)
        print(
            f"{size:>9} {median(size, 'bytes') / 2**20:>9.1f} {median(size, 'seconds'):>7.2f} "
            f"{before:>11.1f} {peak:>9.1f} {growth:>7.1f} {peak_ratio:>7.2f} "
            f"{traced:>12.2f} {traced_ratio:>9.2f}"
        )


if __name__ == "__main__":
    main()
