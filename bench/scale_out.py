"""Scaled out: two gunicorn instances sharing one PostgreSQL and one Redis, against one.

    python bench/scale_out.py [--seconds 20] [--runs 2] [--clients 50] [--workers 4]
           [--database-url postgres://postgres@127.0.0.1:5432/portal_bench_latency]
           [--redis-url redis://127.0.0.1:6379/12]

Reuses the 1,000,000-DID database of bench/latency.py (its `bench-admin` account and
system API settings with the secret `bench`; made here as latency.py makes them when
missing, and the DIDs generated when fewer than `--dids`). The bench itself only reads
the DIDs. Then, in each run, two cases one after the other, on loopback:

- **one instance**: one gunicorn with `--workers` sync workers; all clients call it;
- **two instances**: two gunicorns on two ports with half the workers each (the same
  total), as two app machines behind a load balancer: client *i* calls instance *i* mod 2.

Both cases use production settings (DEBUG off, static files from collectstatic's
manifest), `CACHE_URL` on Redis (a database number and key prefix of the bench's own,
deleted afterwards) and `DATABASE_CONN_MAX_AGE=600`; the API's failure throttling is on
(every request takes and gives back its slots in Redis). `--clients` load generators
(threads in a few separate processes, outside Django, http.client) each call `dids_get`
(the first page, `max_results=50`, as bench-admin) back to back for `--seconds`, after a
short warm-up. Reported per case: requests per second, median and p99 latency as the
client sees it (waiting for a free worker included), the gunicorn processes' CPU time per
request (from /proc: steadier than the rates when other work shares the machine; the
requests still in flight at the end add a little), errors; the median over `--runs` (the
cases' order alternates between runs); and the ratios of two instances to one. Written to
bench/results/scale_out.md too.

On one machine the two instances share its cores, so the comparison says what the split
costs or saves (shared counters in Redis, connection pools, one accept queue or two),
not what a second machine adds; docs/scaling.md says how to read it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
USERNAME = "bench-admin"
SECRET = "bench"  # noqa: S105 (bench/latency.py's API secret of its bench database)
PROCESSES = 5  # load generator processes; the clients are threads spread over them


def environment(database_url: str, cache_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="false",
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,  # one key for every instance
        DJANGO_SECURE_SSL="false",  # plain HTTP on loopback
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_STATIC_ROOT=str(RESULTS / "static"),
        DATABASE_CONN_MAX_AGE="600",
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def prepare(database_url: str, cache_url: str, dids: int) -> dict:
    """The database (reused when it has the DIDs), the API account, the static files."""
    os.environ.update(environment(database_url, cache_url))
    name = database_url.rsplit("/", 1)[-1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", server, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, check=False
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from accounts.models import ApiSettings, User
    from dids.models import Did

    missing = dids - Did.objects.count()
    if missing > 0:
        print(f"Generating {missing} DIDs (once; kept for later runs)…", flush=True)
        call_command("generate_dids", dids=missing, users=5000, resellers=40)
    notes = []
    if not User.objects.filter(username=USERNAME).exists():
        User.objects.create(username=USERNAME, role=User.Role.ADMIN, first_name="Bench")
        notes.append(f"created {USERNAME} (as bench/latency.py does)")
    system = ApiSettings.objects.filter(reseller__isnull=True).first() or ApiSettings()
    if (system.allow_api, system.api_secret_key, system.disable_hash_checking) != (
        True,
        SECRET,
        False,
    ):
        system.allow_api, system.api_secret_key, system.disable_hash_checking = True, SECRET, False
        system.save()
        notes.append("set the system API settings (as bench/latency.py does)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    connection.close()
    return {
        "dids": Did.objects.count(),
        "users": User.objects.count(),
        "resellers": User.objects.filter(role=User.Role.RESELLER).count(),
        "postgres": postgres,
        "notes": notes,
    }


# --- Load generators (separate processes, no Django) ----------------------------------------


def request_body() -> str:
    digest = hashlib.sha1(SECRET.encode()).hexdigest()  # noqa: S324 (MOR's hash: no hashed params)
    return urllib.parse.urlencode({"u": USERNAME, "hash": digest, "max_results": "50"})


def client(port: int, start_at: float, stop_at: float, out: dict) -> None:
    """Call dids_get back to back from start_at until stop_at; keep the times."""
    body = request_body()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times: list[float] = []
    errors = 0
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        started = time.perf_counter()
        try:
            connection.request("POST", "/billing/api/dids_get", body, headers)
            answer = connection.getresponse()
            content = answer.read()
            ok = answer.status == 200 and content.count(b"<did_number>") == 50
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        elapsed = time.perf_counter() - started
        if time.time() > stop_at:
            break  # finished after the end: not counted
        if ok:
            times.append(elapsed)
        else:
            errors += 1
    connection.close()
    out.setdefault("times", []).extend(times)
    out["errors"] = out.get("errors", 0) + errors
    out.setdefault("per_port", {}).setdefault(str(port), 0)
    out["per_port"][str(port)] += len(times)


def run_load_process(ports: list[int], start_at: float, stop_at: float) -> None:
    results: list[dict] = [{} for _ in ports]
    threads = [
        threading.Thread(target=client, args=(port, start_at, stop_at, results[i]))
        for i, port in enumerate(ports)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged: dict = {"times": [], "errors": 0, "per_port": {}}
    for result in results:
        merged["times"].extend(result.get("times", []))
        merged["errors"] += result.get("errors", 0)
        for port, count in result.get("per_port", {}).items():
            merged["per_port"][port] = merged["per_port"].get(port, 0) + count
    print(json.dumps(merged))


def load(ports: list[int], clients: int, seconds: float) -> dict:
    """`clients` clients, client i on ports[i % len(ports)], in PROCESSES processes."""
    assignment = [ports[i % len(ports)] for i in range(clients)]
    groups = [assignment[i::PROCESSES] for i in range(PROCESSES)]
    start_at = time.time() + 2  # every interpreter started
    stop_at = start_at + seconds
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--load",
                json.dumps({"ports": group, "start_at": start_at, "stop_at": stop_at}),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for group in groups
        if group
    ]
    times: list[float] = []
    errors = 0
    per_port: dict[str, int] = {}
    for child in children:
        out, _ = child.communicate(timeout=seconds + 180)
        if child.returncode:
            raise SystemExit(f"a load generator failed ({child.returncode})")
        result = json.loads(out)
        times.extend(result["times"])
        errors += result["errors"]
        for port, count in result["per_port"].items():
            per_port[port] = per_port.get(port, 0) + count
    times.sort()
    return {
        "rps": len(times) / seconds,
        "median_ms": statistics.median(times) * 1000 if times else float("nan"),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        if times
        else float("nan"),
        "errors": errors,
        "requests": len(times),
        "per_port": per_port,
    }


# --- Servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_instances(count: int, workers: int, env: dict[str, str]) -> list[tuple]:
    started = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,  # reads gunicorn.conf.py
            env=env,
        )
        started.append((port, process))
    deadline = time.time() + 60
    for port, process in started:
        while True:
            if process.poll() is not None or time.time() > deadline:
                stop_instances(started)
                raise SystemExit(f"gunicorn on port {port} did not start")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
    return started


def stop_instances(started: list[tuple]) -> None:
    for _, process in started:
        process.terminate()
    for _, process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(started: list[tuple]) -> float:
    """CPU time (user + system) of the gunicorn masters and their workers so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [process.pid for _, process in started]
    total = 0
    for pid in list(pids):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        pids += [int(child) for child in children]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def case(instances: int, workers: int, options, env: dict[str, str]) -> dict:
    started = start_instances(instances, workers, env)
    try:
        ports = [port for port, _ in started]
        load(ports, min(options.clients, 4 * instances * workers), 2)  # warm every worker
        before = cpu_seconds(started)
        result = load(ports, options.clients, options.seconds)
        cpu = cpu_seconds(started) - before
        # The clients' 2 s start-up is idle for the servers: their CPU is the run's.
        result["cpu_ms"] = cpu / result["requests"] * 1000 if result["requests"] else float("nan")
        return result
    finally:
        stop_instances(started)


def forget_keys(redis_url: str, prefix: str) -> None:
    import redis

    server = redis.Redis.from_url(redis_url)
    keys = list(server.scan_iter(match=prefix + ":*"))
    if keys:
        server.delete(*keys)


def machine() -> str:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory = int(meminfo.readline().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} CPUs ({model}), {memory:.0f} GiB, {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--workers", type=int, default=4, help="sync workers in all (split over two instances)"
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_latency"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.load:
        run_load_process(**json.loads(options.load))
        return
    if options.workers % 2:
        parser.error("--workers must be even (split over two instances)")

    prefix = "bench-scale-out-" + secrets.token_hex(4)
    cache_url = f"{options.redis_url}?key_prefix={prefix}"
    data = prepare(options.database_url, cache_url, options.dids)
    env = environment(options.database_url, cache_url)
    cases = {
        f"1 instance x {options.workers} workers": (1, options.workers),
        f"2 instances x {options.workers // 2} workers": (2, options.workers // 2),
    }
    results: dict[str, list[dict]] = {name: [] for name in cases}
    load_before = os.getloadavg()
    try:
        for run in range(options.runs):
            # One case first, then the other, then the other first: a drift in the
            # machine's other work does not always fall on the same case.
            order = list(cases.items()) if run % 2 == 0 else list(cases.items())[::-1]
            for name, (instances, workers) in order:
                result = case(instances, workers, options, env)
                results[name].append(result)
                print(
                    f"run {run + 1} {name}: {result['rps']:.1f} req/s, median "
                    f"{result['median_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
                    f"{result['cpu_ms']:.0f} gunicorn CPU ms/request, "
                    f"{result['errors']} errors, per port {result['per_port']}",
                    flush=True,
                )
    finally:
        forget_keys(options.redis_url, prefix)
    load_after = os.getloadavg()

    medians = {
        name: {
            key: statistics.median(r[key] for r in runs)
            for key in ("rps", "median_ms", "p99_ms", "cpu_ms", "errors")
        }
        for name, runs in results.items()
    }
    one, two = (medians[name] for name in cases)
    lines = [
        "# Scaled out: two gunicorn instances against one (bench/scale_out.py)",
        "",
        f"Machine: {machine()}; PostgreSQL {data['postgres']} and Redis on localhost. "
        f"Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(other work was running).",
        f"Data: {data['dids']:,} DIDs, {data['users']:,} accounts, {data['resellers']} resellers "
        f"({options.database_url.rsplit('/', 1)[-1]}).",
        f"Load: {options.clients} clients (threads in {PROCESSES} processes, http.client), "
        f"dids_get first page (max_results=50) as an admin, back to back for "
        f"{options.seconds:g} s per case; median of {options.runs} runs. Sync workers, "
        "production settings, CACHE_URL on Redis, throttling on, DATABASE_CONN_MAX_AGE=600.",
        "",
        "| case | req/s | median ms | p99 ms | gunicorn CPU ms/request | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in cases:
        m = medians[name]
        lines.append(
            f"| {name} | {m['rps']:.1f} | {m['median_ms']:.0f} | {m['p99_ms']:.0f} "
            f"| {m['cpu_ms']:.0f} | {m['errors']:g} |"
        )
    lines.append(
        f"| ratio two / one | {two['rps'] / one['rps']:.2f} | "
        f"{two['median_ms'] / one['median_ms']:.2f} | {two['p99_ms'] / one['p99_ms']:.2f} "
        f"| {two['cpu_ms'] / one['cpu_ms']:.2f} | |"
    )
    lines += ["", "Runs:", ""]
    for name, runs in results.items():
        for index, r in enumerate(runs, 1):
            lines.append(
                f"- {name}, run {index}: {r['rps']:.1f} req/s, median {r['median_ms']:.0f} ms, "
                f"p99 {r['p99_ms']:.0f} ms, {r['cpu_ms']:.0f} CPU ms/request, "
                f"{r['errors']} errors, requests per port "
                f"{r['per_port']}"
            )
    if data["notes"]:
        lines += ["", "Set-up: " + "; ".join(data["notes"]) + "."]
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale_out.md").write_text(report)
    print("\n" + report)
    print(f"Written to {(RESULTS / 'scale_out.md').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
