"""Throughput and latency of the DID write methods on PostgreSQL at 1,000,000 DIDs.

    python bench/did_writes.py [--dids 1000000] [--seconds 10] [--runs 3] [--chains 30]
           [--database-url postgres://postgres@127.0.0.1:5432/big_api]

Fills the database once with `generate_dids` (kept between runs). Then:

1. **Pairs per second**: gunicorn serves the portal (1 and then 4 sync worker
   processes, on loopback); as many load-generator processes as workers, each on DIDs
   of its own, send `did_device_assign` + `did_device_unassign` pairs over keep-alive
   HTTP for `--seconds`. Reported: pairs per second (all clients), the median latency of
   each of the two calls, median of `--runs` runs.
2. **The floor**: the same number of bare psycopg processes, each doing the same writes
   per pair without the portal (per call one transaction: the UPDATE of the DID's row and
   the INSERT of its history entry), over the same time. The ratio says what the portal
   costs over the database work it cannot avoid.
3. **Latency of each method** (1 worker, one client, sequentially): `--chains` runs of
   create → assign → unassign → details_update → assign → subscription_stop → make_free
   → assign → close → terminate → delete on a fresh DID; the median per method, and its
   ratio to the floor's median UPDATE + INSERT.

Load generators are separate processes, loopback only. Run on an otherwise idle machine;
numbers are for comparison within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-writes"  # noqa: S105 (the bench database's API secret)
USERNAME = "bench-writer"
PORT = 8765
# The hashed parameters of each method (did_methods.md §3.2), for the requests sent here.
HASHED = {
    "did_create": ("provider_id", "did"),
    "did_device_assign": ("device_id", "did"),
    "did_device_unassign": ("device_id", "did"),
    "did_details_update": ("did_id",),
    "did_subscription_stop": ("dids_id",),
    "did_close": ("dids_id",),
    "did_terminate": ("dids_id",),
    "did_make_free": ("dids_id",),
    "did_delete": ("dids_id",),
}
CHAIN = (
    "did_create",
    "did_device_assign",
    "did_device_unassign",
    "did_details_update",
    "did_device_assign",
    "did_subscription_stop",
    "did_make_free",
    "did_device_assign",
    "did_close",
    "did_terminate",
    "did_delete",
)


def environment(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        DJANGO_SECURE_SSL="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DJANGO_STATIC_ROOT=str(ROOT / "bench" / "results" / "static"),
        DATABASE_CONN_MAX_AGE="600",
        API_AUTH_FAILURE_LIMIT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    return env


def prepare(database_url: str, dids: int) -> dict:
    """Data (once), the bench account and settings, and the DIDs and devices to use."""
    os.environ.update(environment(database_url))
    name = database_url.rsplit("/", 1)[-1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", server, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, check=False
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from accounts.models import ApiSettings, User
    from dids.models import Device, Did, Provider

    missing = dids - Did.objects.count()
    if missing > 0:
        print(f"Generating {missing} DIDs (once; kept for later runs)…", flush=True)
        call_command("generate_dids", dids=missing, users=5000, resellers=40, no_progress=True)
    User.objects.get_or_create(
        username=USERNAME, defaults={"role": User.Role.ADMIN, "first_name": "Bench"}
    )
    system = ApiSettings.objects.filter(reseller__isnull=True).first() or ApiSettings()
    system.allow_api, system.api_secret_key, system.disable_hash_checking = True, SECRET, False
    system.save()
    # Free DIDs nobody holds, spread over the table; devices of active system users.
    free = Did.objects.filter(
        status="free", reseller=None, user=None, device=None, dial_plan=None
    ).order_by("id")
    count = free.count()
    step = max(1, count // 2000)
    numbers = list(free.values_list("id", "number")[: step * 2000 : step])
    devices = list(
        Device.objects.filter(
            user__role=User.Role.USER, user__owner=None, user__is_active=True
        ).values_list("id", flat=True)[:64]
    )
    provider = Provider.objects.filter(owner=None).values_list("id", flat=True).first()
    return {
        "total": Did.objects.count(),
        "dids": numbers,
        "devices": devices,
        "provider": provider,
        "user_id": User.objects.get(username=USERNAME).pk,
    }


# --- HTTP client -------------------------------------------------------------------


def form(method: str, params: dict[str, str]) -> bytes:
    values = "".join(params[name] for name in HASHED[method] if params.get(name))
    digest = hashlib.sha1((values + SECRET).encode()).hexdigest()  # noqa: S324 (legacy hash)
    return urllib.parse.urlencode({"u": USERNAME, **params, "hash": digest}).encode()


class Api:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, **params: str) -> tuple[float, bytes]:
        body = form(method, params)
        started = time.perf_counter()
        self.connection.request(
            "POST",
            f"/billing/api/{method}",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = self.connection.getresponse().read()
        elapsed = time.perf_counter() - started
        if b"<success>" not in answer and b"<status><status>" not in answer:
            raise RuntimeError(f"{method} {params}: {answer[:200]!r}")
        return elapsed, answer


def client_pairs(port: int, seconds: float, dids: list, device: int) -> dict:
    """One load generator: assign/unassign pairs on its own DIDs until time is up."""
    api = Api(port)
    assign, unassign = [], []
    deadline = time.perf_counter() + seconds
    index = 0
    while time.perf_counter() < deadline:
        _, number = dids[index % len(dids)]
        index += 1
        assign.append(api.call("did_device_assign", device_id=str(device), did=number)[0])
        unassign.append(api.call("did_device_unassign", did=number)[0])
    return {"pairs": len(assign), "assign": assign, "unassign": unassign}


def client_chains(port: int, chains: int, provider: int, device: int) -> dict[str, list]:
    """Every method in turn on fresh DIDs; the time of each call."""
    api = Api(port)
    times: dict[str, list] = {method: [] for method in HASHED}
    stamp = int(time.time() * 1000) % 10**9
    for chain in range(chains):
        number = f"99{stamp:09d}{chain:04d}"
        elapsed, answer = api.call("did_create", provider_id=str(provider), did=number)
        times["did_create"].append(elapsed)
        did_id = answer.split(b"<id>", 1)[1].split(b"</id>", 1)[0].decode()
        steps = {
            "did_device_assign": {"device_id": str(device), "did": number},
            "did_device_unassign": {"did": number},
            "did_details_update": {"did_id": did_id, "call_limit": str(chain % 5 + 1)},
            "did_subscription_stop": {"dids_id": did_id},
            "did_make_free": {"dids_id": did_id},
            "did_close": {"dids_id": did_id},
            "did_terminate": {"dids_id": did_id},
            "did_delete": {"dids_id": did_id},
        }
        for method in CHAIN[1:]:
            times[method].append(api.call(method, **steps[method])[0])
    return times


# --- The floor: bare psycopg ----------------------------------------------------------


def floor_pairs(database_url: str, seconds: float, dids: list, device: int, user: int) -> dict:
    """The same writes per pair without the portal: per call one transaction with the
    UPDATE of the DID and the INSERT of its history entry."""
    import psycopg

    assign, unassign = [], []
    with psycopg.connect(database_url, autocommit=False) as connection:
        cursor = connection.cursor()
        deadline = time.perf_counter() + seconds
        index = 0
        while time.perf_counter() < deadline:
            did_id, _ = dids[index % len(dids)]
            index += 1
            for status, user_id, device_id, samples in (
                ("active", user, device, assign),
                ("free", None, None, unassign),
            ):
                started = time.perf_counter()
                cursor.execute(
                    "UPDATE dids_did SET status = %s, user_id = %s, device_id = %s, "
                    "updated_at = now() WHERE id = %s",
                    (status, user_id, device_id, did_id),
                )
                cursor.execute(
                    "INSERT INTO dids_didhistory (did_id, at, by_id, source, address, action, "
                    "changes) VALUES (%s, now(), %s, 'api', '127.0.0.1', %s, %s)",
                    (did_id, user, "bench", json.dumps({"status": ["x", status]})),
                )
                connection.commit()
                samples.append(time.perf_counter() - started)
    return {"pairs": len(assign), "assign": assign, "unassign": unassign}


# --- Orchestration ---------------------------------------------------------------------


def run_clients(mode: str, count: int, payloads: list[dict], database_url: str) -> list[dict]:
    """Start `count` load generators (separate processes) at once; collect their results."""
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", mode, "--payload", json.dumps(payload)],
            stdout=subprocess.PIPE,
            env=environment(database_url),
        )
        for payload in payloads[:count]
    ]
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"a load generator failed ({process.returncode})")
        results.append(json.loads(out))
    return results


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def start_gunicorn(workers: int, database_url: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment(database_url),
    )
    wait_for(PORT)
    return process


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def summary(results: list[dict], seconds: float) -> dict:
    return {
        "pairs_per_second": sum(r["pairs"] for r in results) / seconds,
        "assign_ms": ms([t for r in results for t in r["assign"]]),
        "unassign_ms": ms([t for r in results for t in r["unassign"]]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chains", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/big_api")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--payload", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.client:
        payload = json.loads(options.payload)
        mode = options.client
        if mode == "pairs":
            result = client_pairs(**payload)
        elif mode == "floor":
            result = floor_pairs(**payload)
        else:
            result = client_chains(**payload)
        print(json.dumps(result))
        return

    data = prepare(options.database_url, options.dids)
    dids, devices = data["dids"], data["devices"]
    most = max(options.workers)
    share = len(dids) // most
    per_client = [
        {"dids": dids[i * share : (i + 1) * share], "device": devices[i % len(devices)]}
        for i in range(most)
    ]
    print(
        f"\nPostgreSQL, {data['total']:,} DIDs; {options.seconds:g} s per run, median of "
        f"{options.runs} runs; {os.cpu_count()} CPUs\n"
    )
    rows = []
    for workers in options.workers:
        floor_runs = [
            summary(
                run_clients(
                    "floor",
                    workers,
                    [
                        {
                            "database_url": options.database_url,
                            "seconds": options.seconds,
                            "user": data["user_id"],
                            **p,
                        }
                        for p in per_client
                    ],
                    options.database_url,
                ),
                options.seconds,
            )
            for _ in range(options.runs)
        ]
        server = start_gunicorn(workers, options.database_url)
        try:
            payloads = [{"port": PORT, "seconds": options.seconds, **p} for p in per_client]
            warm_up = [{**p, "seconds": 1} for p in payloads]
            run_clients("pairs", workers, warm_up, options.database_url)
            portal_runs = [
                summary(
                    run_clients("pairs", workers, payloads, options.database_url),
                    options.seconds,
                )
                for _ in range(options.runs)
            ]
            chains = None
            if workers == 1:
                chains = run_clients(
                    "chains",
                    1,
                    [
                        {
                            "port": PORT,
                            "chains": options.chains,
                            "provider": data["provider"],
                            "device": devices[-1],
                        }
                    ],
                    options.database_url,
                )[0]
        finally:
            server.terminate()
            server.wait()
        floor = {key: statistics.median(r[key] for r in floor_runs) for key in floor_runs[0]}
        portal = {key: statistics.median(r[key] for r in portal_runs) for key in portal_runs[0]}
        rows.append((workers, portal, floor))
        if chains is not None:
            floor_call = (floor["assign_ms"] + floor["unassign_ms"]) / 2
            print(f"Latency of each method (1 worker, 1 client, median of {options.chains}):\n")
            print(f"{'method':<24} {'median ms':>10} {'x floor':>8}")
            print(f"{'floor: UPDATE + INSERT':<24} {floor_call:>10.2f} {1:>8.1f}")
            for method, samples in chains.items():
                print(f"{method:<24} {ms(samples):>10.2f} {ms(samples) / floor_call:>8.1f}")
            print()

    print("Sustained did_device_assign + did_device_unassign pairs:\n")
    print(
        f"{'workers':>7} {'portal pairs/s':>15} {'floor pairs/s':>14} {'ratio':>6} "
        f"{'assign ms':>10} {'unassign ms':>12} {'floor ms':>9}"
    )
    for workers, portal, floor in rows:
        floor_ms = (floor["assign_ms"] + floor["unassign_ms"]) / 2
        print(
            f"{workers:>7} {portal['pairs_per_second']:>15.1f} {floor['pairs_per_second']:>14.1f} "
            f"{portal['pairs_per_second'] / floor['pairs_per_second']:>6.2f} "
            f"{portal['assign_ms']:>10.2f} {portal['unassign_ms']:>12.2f} {floor_ms:>9.2f}"
        )


if __name__ == "__main__":
    main()
