"""Latency of dids_get and the GUI DIDs list on PostgreSQL at a stated inventory size.

    python bench/latency.py [--dids 1000000] [--runs 15]
           [--database-url postgres://postgres@127.0.0.1:5432/portal_bench_latency]

Fills the database once with `generate_dids` (kept between runs), then times each
request in-process through Django's full stack (middleware, view, SQL, rendering,
the whole streamed body consumed). Reports the median and the ratio against a
baseline measured in the same run: the bare SQL of a first page
(`SELECT … ORDER BY number LIMIT 50`), i.e. what any page of this table costs at least.
Run it on an otherwise idle machine; numbers are for comparison within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prepare(database_url: str, dids: int) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SECURE_SSL", "false")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ["API_AUTH_FAILURE_LIMIT"] = "0"
    # Production settings (DEBUG off) serve static files from collectstatic's manifest.
    os.environ.setdefault("DJANGO_STATIC_ROOT", str(ROOT / "bench" / "results" / "static"))
    name = database_url.rsplit("/", 1)[-1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", server, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, check=False
    )
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from dids.models import Did

    missing = dids - Did.objects.count()
    if missing > 0:
        print(f"Generating {missing} DIDs (once; kept for later runs)…", flush=True)
        call_command("generate_dids", dids=missing, users=5000, resellers=40)


def accounts():
    from accounts.models import AccountantGroup, ApiSettings, User

    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"role": User.Role.ADMIN, "first_name": "Bench"}
    )
    group, _ = AccountantGroup.objects.get_or_create(
        name="bench readers", defaults={"rights": {"manage_dids": "read"}}
    )
    accountant, _ = User.objects.get_or_create(
        username="bench-accountant",
        defaults={"role": User.Role.ACCOUNTANT, "accountant_group": group},
    )
    system = ApiSettings.objects.filter(reseller__isnull=True).first() or ApiSettings()
    system.allow_api, system.api_secret_key, system.disable_hash_checking = True, "bench", False
    system.save()
    # The reseller holding the most DIDs: a realistic heavy reseller.
    from django.db.models import Count

    busiest = (
        User.objects.filter(role=User.Role.RESELLER)
        .annotate(n=Count("reseller_dids"))
        .order_by("-n")
        .first()
    )
    held = busiest.reseller_dids.count()
    own = ApiSettings.objects.filter(reseller=busiest).first() or ApiSettings(reseller=busiest)
    own.allow_api, own.api_secret_key = True, "bench"
    own.save()
    return admin, accountant, busiest, held


def timed(call, runs: int) -> float:
    call()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_latency"
    )
    options = parser.parse_args()
    prepare(options.database_url, options.dids)

    from django.db import connection
    from django.test import Client

    from accounts.api_hash import api_hash
    from dids.models import Did

    admin, accountant, reseller, held = accounts()
    total = Did.objects.count()
    key = api_hash({}, "bench")
    api, gui = Client(), Client()
    gui.force_login(admin)

    def api_call(account, **params):
        def call():
            response = api.post(
                "/billing/api/dids_get", {"u": account.username, "hash": key, **params}
            )
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert b"<error>" not in body, body[:200]

        return call

    def gui_call(query: str):
        def call():
            response = gui.get("/dids/?" + query)
            assert response.status_code == 200, response.status_code

        return call

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute('SELECT id, number FROM dids_did ORDER BY number COLLATE "C" LIMIT 50')
            cursor.fetchall()

    cases = [
        ("baseline: bare SQL, first 50 by number", baseline),
        ("dids_get admin, first 50", api_call(admin, max_results=50)),
        ("dids_get admin, from=500000, 50", api_call(admin, **{"from": 500000, "max_results": 50})),
        (
            "dids_get admin, search_did_number=4420",
            api_call(admin, search_did_number="4420", max_results=50),
        ),
        (
            "dids_get admin, status=closed, 50",
            api_call(admin, search_status="closed", max_results=50),
        ),
        (
            "dids_get admin, owner=Hotels, 50",
            api_call(admin, search_did_owner="Hotels", max_results=50),
        ),
        (
            "dids_get accountant, hide terminated, 50",
            api_call(accountant, search_hide_terminated_dids=1, max_results=50),
        ),
        (f"dids_get reseller, all {held} held DIDs", api_call(reseller)),
        ("GUI list admin, first page", gui_call("")),
        ("GUI list admin, status=active", gui_call("search_status=active")),
        ("GUI list admin, search_did_number=4420", gui_call("search_did_number=4420")),
    ]
    print(f"\nPostgreSQL, {total} DIDs, median of {options.runs} runs each\n")
    print(f"{'case':<48} {'median ms':>10} {'x baseline':>11}")
    base = None
    for label, call in cases:
        median = timed(call, options.runs)
        base = base or median
        print(f"{label:<48} {median:>10.1f} {median / base:>11.1f}")


if __name__ == "__main__":
    main()
