"""The home page, the number blocks and the name pickers on PostgreSQL at a stated size.

    python bench/overview.py [--dids 1000000] [--users 10000] [--devices 100000] [--runs 9]
           [--database-url postgres://postgres@127.0.0.1:5432/portal_bench_overview]

Fills the database once (kept between runs): `generate_dids` for the DIDs, then as many
end users and devices as asked (the pickers must stay fast at 10,000 users and 100,000
devices). Times each page in-process through Django's full stack (middleware, view,
SQL, template) and reports the median and the ratio against a baseline measured in the
same run: the bare SQL `SELECT count(*) FROM dids_did`, the least that any number
about the whole inventory costs. Run it on an otherwise idle machine.
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


def prepare(database_url: str, dids: int, users: int, devices: int) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SECURE_SSL", "false")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
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
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from dids.models import Device, Did

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    missing = dids - Did.objects.count()
    if missing > 0:
        print(f"Generating {missing} DIDs (once; kept for later runs)…", flush=True)
        call_command("generate_dids", dids=missing)
    extra_users = users - User.objects.filter(role=User.Role.USER).count()
    if extra_users > 0:
        print(f"Adding {extra_users} end users…", flush=True)
        resellers = list(User.objects.filter(role=User.Role.RESELLER).values_list("pk", flat=True))
        password = make_password(None)
        User.objects.bulk_create(
            [
                User(
                    username=f"bench-user{n}",
                    first_name=f"Bench{n % 97}",
                    last_name=f"Customer{n}",
                    role=User.Role.USER,
                    owner_id=resellers[n % len(resellers)] if n % 3 else None,
                    password=password,
                )
                for n in range(extra_users)
            ],
            batch_size=5000,
        )
    extra_devices = devices - Device.objects.count()
    if extra_devices > 0:
        print(f"Adding {extra_devices} devices…", flush=True)
        owners = list(User.objects.filter(role=User.Role.USER).values_list("pk", flat=True))
        Device.objects.bulk_create(
            [
                Device(
                    type=("SIP", "IAX2", "FAX")[n % 3],
                    name=f"bench-dev{n}",
                    extension=str(10000 + n),
                    user_id=owners[n % len(owners)],
                )
                for n in range(extra_devices)
            ],
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def accounts():
    from django.db.models import Count

    from accounts.models import User

    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"role": User.Role.ADMIN, "first_name": "Bench"}
    )
    # The reseller holding the most DIDs, and one of its customers with DIDs.
    reseller = (
        User.objects.filter(role=User.Role.RESELLER)
        .annotate(n=Count("reseller_dids"))
        .order_by("-n")
        .first()
    )
    customer = User.objects.filter(owner=reseller).annotate(n=Count("dids")).order_by("-n").first()
    return admin, reseller, customer


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
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_overview"
    )
    options = parser.parse_args()
    prepare(options.database_url, options.dids, options.users, options.devices)

    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from dids.models import Device, Did

    admin, reseller, customer = accounts()
    clients = {}
    for account in (admin, reseller, customer):
        clients[account.pk] = Client()
        clients[account.pk].force_login(account)

    answers: dict[str, int] = {}

    def page(account, url: str):
        def call():
            response = clients[account.pk].get(url)
            # 400: the blocks page gave up counting in time (dids.overview.TooManyBlocks).
            assert response.status_code in (200, 400), (url, response.status_code)
            answers[url] = response.status_code

        call.url = url
        return call

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM dids_did")
            cursor.fetchall()

    held = Did.objects.filter(reseller=reseller).count()
    cases = [
        ("baseline: bare SQL, count(*) of all DIDs", baseline),
        ("home page, admin (all DIDs)", page(admin, "/")),
        (f"home page, reseller ({held} DIDs)", page(reseller, "/")),
        ("home page, user", page(customer, "/")),
        ("blocks, admin, prefix 8", page(admin, "/dids/blocks/?digits=8")),
        ("blocks, admin, prefix 12", page(admin, "/dids/blocks/?digits=12")),
        ("blocks, admin, prefix 12, page 20", page(admin, "/dids/blocks/?digits=12&page=20")),
        ("blocks, admin, prefix 13 (10 DIDs a block)", page(admin, "/dids/blocks/?digits=13")),
        ("blocks, reseller, prefix 12", page(reseller, "/dids/blocks/?digits=12")),
        ("picker users, admin, q=bench1", page(admin, "/dids/pick/users/?q=bench1")),
        ("picker users, admin, q=zzz (no match)", page(admin, "/dids/pick/users/?q=zzz")),
        ("picker devices, admin, q=dev12", page(admin, "/dids/pick/devices/?q=dev12")),
        ("picker devices, admin, q=zzz (no match)", page(admin, "/dids/pick/devices/?q=zzz")),
        ("picker devices, reseller, q=dev1", page(reseller, "/dids/pick/devices/?q=dev1")),
        (
            "picker devices, admin, id=",
            page(admin, f"/dids/pick/devices/?id={Device.objects.last().pk}"),
        ),
    ]
    users = User.objects.filter(role=User.Role.USER).count()
    print(
        f"\nPostgreSQL, {Did.objects.count()} DIDs, {users} end users, "
        f"{Device.objects.count()} devices; median of {options.runs} runs each\n"
    )
    print(f"load average before: {os.getloadavg()[0]:.1f} (this machine's cores: {os.cpu_count()})")
    print(f"{'case':<48} {'median ms':>10} {'x baseline':>11}")
    base = None
    for label, call in cases:
        median = timed(call, options.runs)
        base = base or median
        note = " (gave up: too many blocks)" if answers.get(getattr(call, "url", "")) == 400 else ""
        print(f"{label:<48} {median:>10.1f} {median / base:>11.1f}{note}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
