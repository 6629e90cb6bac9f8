"""dids_get and the CSV export through gunicorn at 1,000,000 DIDs, against a floor.

    .venv/bin/python bench/api.py [--runs 31] [--seconds 60] [--clients 50] [--workers 2]
           [--export-runs 1] [--only pages,load,exports,sync]
           [--database-url postgres://postgres@127.0.0.1:5432/portal_bench_latency]
           [--output bench/results/api.md]

Both servers run under gunicorn side by side on loopback, with the same worker count and
the same gunicorn.conf.py:

- the portal, started with the README's production command (read from README.md's
  Production section) and production settings: DEBUG off, a secret key, plain HTTP
  (DJANGO_SECURE_SSL=false), DATABASE_CONN_MAX_AGE=600, Redis cache, throttling off;
- the floor (bench/floor.py): a plain WSGI app that replays the SQL the portal's views
  executed for the same request (recorded once per case, in-process) through psycopg and
  writes the same bytes. Every case's body is compared by sha256 with the portal's.

Measured, A/B interleaved (the side that goes first alternates):

1. pages: dids_get first page of 50, and `search_status=active` 100 rows; the median
   latency of `--runs` requests each, and the workers' CPU per request (utime + stime of
   the worker processes in /proc over the whole phase, divided by the requests);
2. load: `--clients` clients for `--seconds` (load generators in separate processes, 10
   keep-alive connections each, loopback) on `--workers` workers: requests/s, p50/p99,
   errors;
3. exports: the full dids_get XML (max_results = every DID) and the CSV export of the
   DIDs list (/dids/export.csv, signed in through a session): DIDs/s, time to first
   byte, bytes, the workers' peak RSS (VmHWM, reset through /proc/PID/clear_refs before
   each export). The portal's full XML export is the check that 1M DIDs come through
   the README's production command whole (closing tag, byte count, DID count);
4. sync: the same full XML export through gunicorn's sync worker with its default 30 s
   timeout, to show what the gthread default avoids.

Writes `--output` (Markdown) and prints it. Numbers compare within one run; on a busy
machine the ratios matter more than the milliseconds.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import pickle
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench"  # noqa: S105 (the bench database's API secret, as in latency.py)
PORTAL_PORT, FLOOR_PORT = 8781, 8782
TICK = os.sysconf("SC_CLK_TCK")
CHUNK = 256 * 1024


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        DJANGO_SECURE_SSL="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DJANGO_STATIC_ROOT=str(ROOT / "bench" / "results" / "static"),
        DATABASE_CONN_MAX_AGE="600",
        CACHE_URL="redis://127.0.0.1:6379/7",
        API_AUTH_FAILURE_LIMIT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
        FLOOR_DATABASE_URL=database_url,
    )
    env.update(extra)
    return env


# --- The cases and the floor's recording ------------------------------------------------


def _plain(value):
    """Parameters as psycopg takes them, without Django's types (TextChoices → str)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def record_cases(database_url: str, dids: int) -> tuple[dict, dict]:
    """The bench's requests, and for each what the floor needs (see bench/floor.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.update(environment(database_url))
    import latency

    latency.prepare(database_url, dids)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import Client
    from floor import listing_columns

    from accounts.api_hash import api_hash
    from dids.exports import export_columns
    from dids.models import Did
    from dids.presentation import role_elements

    admin = latency.accounts()[0]
    total = Did.objects.count()
    session = SessionStore()
    session[SESSION_KEY] = str(admin.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
    session.create()
    key = api_hash({}, SECRET)

    def api(**params) -> dict:
        body = urllib.parse.urlencode({"u": admin.username, "hash": key, **params})
        return {
            "method": "POST",
            "path": "/billing/api/dids_get",
            "query": "",
            "body": body.encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "kind": "xml",
        }

    requests = {
        "first50": api(max_results=50),
        "active100": api(search_status="active", max_results=100),
        "xml_full": api(max_results=total),
        "csv_full": {
            "method": "GET",
            "path": "/dids/export.csv",
            "query": "",
            "body": b"",
            "headers": {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"},
            "kind": "csv",
        },
    }
    api_client, gui_client = Client(), Client()
    gui_client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    floor_cases = {}
    for name, request in requests.items():
        statements: list[tuple[str, object]] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append((sql, _plain(params) if params is not None else None))
            return execute(sql, params, many, context)

        def call(request=request):
            if request["method"] == "POST":
                return api_client.post(
                    request["path"],
                    request["body"],
                    content_type=request["headers"]["Content-Type"],
                )
            return gui_client.get(request["path"])

        # The first case once to warm up (first-request writes), then recorded. A full
        # export is not read to its end here: its statements have run by the first chunk.
        for _ in range(2 if not floor_cases else 1):
            statements.clear()
            with connection.execute_wrapper(record):
                response = call()
                assert response.status_code == 200, (name, response.status_code)
                content = iter(
                    response.streaming_content if response.streaming else [response.content]
                )
                first = next(content)
                if name in ("first50", "active100"):
                    b"".join([first, *content])
                response.close()
        listing = max(
            (
                i
                for i, (sql, _) in enumerate(statements)
                if sql.startswith("SELECT") and "number" in listing_columns(sql)
            ),
            default=None,
        )
        assert listing is not None, f"{name}: no listing statement recorded"
        floor_cases[(request["method"], request["path"], request["query"], request["body"])] = {
            "kind": request["kind"],
            "statements": statements,
            "listing": listing,
            "allowed": role_elements(admin),
            "reseller_comment": admin.writes_reseller_comment,
            "csv_columns": export_columns(admin),
            "content_type": response["Content-Type"],
        }
        request["statements"] = len(statements)
    data = {
        "total": total,
        "users": admin.__class__.objects.count(),
        "postgres": connection.cursor().connection.info.server_version,
    }
    return requests, {"cases": floor_cases, **data}


# --- gunicorn ----------------------------------------------------------------------------


def production_command() -> list[str]:
    """The gunicorn line of README.md's Production section, as written there."""
    section = (ROOT / "README.md").read_text().split("### Production", 1)[1]
    for line in section.splitlines():
        if line.startswith("gunicorn "):
            return shlex.split(line.split("  #", 1)[0])
    raise SystemExit("README.md's Production section has no gunicorn command")


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    command = production_command()
    command[0] = str(ROOT / ".venv" / "bin" / "gunicorn")
    command[command.index("portal.wsgi")] = app
    bind = command.index("--bind") + 1
    command[bind] = f"127.0.0.1:{port}"
    process = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0 and len(workers(process.pid)) > 0:
                time.sleep(1)
                return process
        time.sleep(0.2)
    raise SystemExit(f"gunicorn ({app}) did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(30)


def workers(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# --- HTTP ----------------------------------------------------------------------------------


def fetch(port: int, request: dict, *, count: bytes | None = None, timeout: float = 900) -> dict:
    """One request, its whole body read: status, times, bytes, sha256, how it ended."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    url = request["path"] + (f"?{request['query']}" if request["query"] else "")
    started = time.perf_counter()
    connection.request(request["method"], url, request["body"] or None, request["headers"])
    response = connection.getresponse()
    digest, size, first, found, tail, end, last = hashlib.sha256(), 0, None, 0, b"", "", b""
    while True:
        try:
            chunk = response.read1(CHUNK)
        except (http.client.IncompleteRead, ConnectionError) as error:
            end = f"cut off ({type(error).__name__})"
            break
        if not chunk:
            break
        if first is None:
            first = time.perf_counter() - started
        digest.update(chunk)
        size += len(chunk)
        if count:
            found += (tail + chunk).count(count)
            tail = chunk[-(len(count) - 1) :]
        last = chunk
    elapsed = time.perf_counter() - started
    connection.close()
    return {
        "status": response.status,
        "seconds": elapsed,
        "first_byte": first,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "counted": found,
        "ending": last[-40:] if size else b"",
        "end": end or "complete",
    }


def load_client(port: int, request: dict, connections: int, start_at: float, seconds: float):
    """A load generator: `connections` keep-alive clients in threads until time is up."""
    request = {**request, "body": request["body"].encode("latin-1")}
    results: list[tuple[list[float], int, list[str]]] = []

    def client() -> None:
        latencies, errors, samples = [], 0, []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < start_at:
            time.sleep(0.005)
        deadline = start_at + seconds
        while time.time() < deadline:
            began = time.perf_counter()
            try:
                connection.request(
                    request["method"], request["path"], request["body"], request["headers"]
                )
                response = connection.getresponse()
                body = response.read()
                ok = response.status == 200 and body.endswith(b"</dids></page>")
                if not ok:
                    samples.append(f"{response.status} {body[:80]!r}")
            except (OSError, http.client.HTTPException) as error:
                ok = False
                samples.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
        results.append((latencies, errors, samples[:3]))

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": [t for r in results for t in r[0]],
        "errors": sum(r[1] for r in results),
        "samples": [s for r in results for s in r[2]][:5],
    }


def run_load(port: int, request: dict, clients: int, seconds: float) -> dict:
    per_process = 10
    counts = [per_process] * (clients // per_process) + (
        [clients % per_process] if clients % per_process else []
    )
    payload = {**request, "body": request["body"].decode("latin-1")}
    start_at = time.time() + 2 + 0.2 * len(counts)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--client",
                json.dumps([port, payload, n, start_at, seconds]),
            ],
            stdout=subprocess.PIPE,
        )
        for n in counts
    ]
    results = [json.loads(p.communicate()[0]) for p in processes]
    latencies = sorted(t for r in results for t in r["latencies"])
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
        "errors": sum(r["errors"] for r in results),
        "samples": [s for r in results for s in r["samples"]][:5],
        "requests": len(latencies),
    }


# --- Measurements --------------------------------------------------------------------------


def pages(servers: dict, request: dict, runs: int) -> dict:
    for side in servers.values():
        for _ in range(3):
            fetch(side["port"], request)
    times: dict[str, list[float]] = {name: [] for name in servers}
    before = {name: cpu_seconds(side["workers"]) for name, side in servers.items()}
    bodies = {}
    order = list(servers)
    for run in range(runs):
        for name in order if run % 2 == 0 else order[::-1]:
            result = fetch(servers[name]["port"], request)
            assert result["status"] == 200, result
            assert result["end"] == "complete", result
            times[name].append(result["seconds"])
            bodies[name] = result["sha256"]
    return {
        name: {
            "ms": statistics.median(times[name]) * 1000,
            "cpu_ms": (cpu_seconds(side["workers"]) - before[name]) / runs * 1000,
            "sha256": bodies[name],
        }
        for name, side in servers.items()
    }


def export(side: dict, request: dict) -> dict:
    for pid in side["workers"]:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start_rss = max(status_kib(pid, "VmRSS") for pid in side["workers"])
    count = b"<did_number>" if request["kind"] == "xml" else b"\r\n"
    result = fetch(side["port"], request, count=count)
    result["peak_mb"] = max(status_kib(pid, "VmHWM") for pid in side["workers"]) / 1024
    result["start_mb"] = start_rss / 1024
    if request["kind"] == "csv":
        result["counted"] -= 1  # the header
    return result


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = status_line("/proc/meminfo", "MemTotal") / 1024 / 1024
    return f"{os.cpu_count()} CPUs ({model}), {memory:.0f} GiB, {platform.platform()}"


def status_line(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dids", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=31, help="requests per page case and side")
    parser.add_argument("--seconds", type=float, default=60, help="of each load run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load-runs", type=int, default=1)
    parser.add_argument("--export-runs", type=int, default=1)
    parser.add_argument("--only", default="pages,load,exports,sync")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_latency"
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "api.md"))
    parser.add_argument("--client", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        print(json.dumps(load_client(*json.loads(options.client))))
        return
    parts = set(options.only.split(","))
    began = time.time()
    load_before = load_average()

    print("Recording the portal's SQL for each case (in-process)…", flush=True)
    requests, recorded = record_cases(options.database_url, options.dids)
    cases_file = Path(tempfile.mkstemp(prefix="floor-cases-", suffix=".pickle")[1])
    cases_file.write_bytes(pickle.dumps(recorded["cases"]))
    env = environment(
        options.database_url,
        GUNICORN_WORKERS=str(options.workers),
        FLOOR_CASES=str(cases_file),
    )
    settings_line = gunicorn_settings(env)
    servers = {
        "portal": {"port": PORTAL_PORT, "process": start("portal.wsgi", PORTAL_PORT, env)},
        "floor": {
            "port": FLOOR_PORT,
            "process": start("bench.floor:application", FLOOR_PORT, env),
        },
    }
    for side in servers.values():
        side["workers"] = workers(side["process"].pid)
    out: dict = {"pages": {}, "load": [], "exports": {}}
    try:
        if "pages" in parts:
            for name in ("first50", "active100"):
                print(f"pages: {name}…", flush=True)
                out["pages"][name] = pages(servers, requests[name], options.runs)
        if "load" in parts:
            for run in range(options.load_runs):
                order = ["portal", "floor"] if run % 2 == 0 else ["floor", "portal"]
                row = {}
                for name in order:
                    print(f"load: {name}, run {run + 1}…", flush=True)
                    row[name] = run_load(
                        servers[name]["port"], requests["first50"], options.clients, options.seconds
                    )
                out["load"].append(row)
        if "exports" in parts:
            for kind in ("xml_full", "csv_full"):
                runs: dict[str, list] = {"portal": [], "floor": []}
                for run in range(options.export_runs):
                    first = ["portal", "floor"] if (run + (kind == "csv_full")) % 2 == 0 else None
                    for name in first or ["floor", "portal"]:
                        print(f"exports: {kind}, {name}, run {run + 1}…", flush=True)
                        runs[name].append(export(servers[name], requests[kind]))
                out["exports"][kind] = runs
    finally:
        for side in servers.values():
            stop(side["process"])
    if "sync" in parts:
        print("sync worker, default timeout: the full XML export…", flush=True)
        sync_env = {
            **env,
            "GUNICORN_WORKER_CLASS": "sync",
            "GUNICORN_THREADS": "1",
            "GUNICORN_TIMEOUT": "30",
        }
        out["sync_settings"] = gunicorn_settings(sync_env)
        process = start("portal.wsgi", PORTAL_PORT, sync_env)
        try:
            out["sync"] = fetch(PORTAL_PORT, requests["xml_full"], count=b"<did_number>")
        finally:
            stop(process)
    cases_file.unlink()
    report = render(options, recorded, requests, out, settings_line, load_before, began)
    Path(options.output).parent.mkdir(parents=True, exist_ok=True)
    Path(options.output).write_text(report)
    print(report)


def gunicorn_settings(env: dict[str, str]) -> str:
    """The worker settings gunicorn.conf.py gives under this environment."""
    code = (
        "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: c.get(k) for k in "
        "('workers', 'worker_class', 'threads', 'timeout', 'keepalive')}))"
    )
    values = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True
        ).stdout
    )
    return ", ".join(f"{k}={v}" for k, v in values.items())


def render(options, recorded, requests, out, settings_line, load_before, began) -> str:
    lines = [
        "# dids_get and the CSV export against the floor (bench/api.py)",
        "",
        f"- machine: {machine()}; load average {load_before} at the start, "
        f"{load_average()} at the end (other work was running: the ratios matter more "
        "than the milliseconds)",
        f"- data: PostgreSQL {recorded['postgres'] // 10000}, {recorded['total']:,} DIDs, "
        f"{recorded['users']:,} accounts (generate_dids)",
        f"- servers: gunicorn, the README's production command `{shlex.join(production_command())}`"
        f" with gunicorn.conf.py ({settings_line}); the floor under the same command and "
        "settings (`bench.floor:application`)",
        f"- run: {options.runs} requests per page case and side, {options.load_runs} load "
        f"run(s) of {options.seconds:g} s with {options.clients} clients, "
        f"{options.export_runs} export run(s) per side; A/B interleaved; "
        f"{(time.time() - began) / 60:.1f} min in all",
        "",
        "Statements the portal executes per request (the floor replays them): "
        + ", ".join(f"{name} {r['statements']}" for name, r in requests.items()),
        "",
    ]
    if out["pages"]:
        lines += [
            "## Pages (median)",
            "",
            "| case | portal ms | floor ms | ratio | portal CPU ms/req | floor CPU ms/req "
            "| CPU ratio | body identical |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        labels = {"first50": "dids_get first page 50", "active100": "dids_get status=active 100"}
        for name, result in out["pages"].items():
            p, f = result["portal"], result["floor"]
            same = "yes (sha256)" if p["sha256"] == f["sha256"] else "**no**"
            lines.append(
                f"| {labels[name]} | {p['ms']:.1f} | {f['ms']:.1f} | {p['ms'] / f['ms']:.2f} "
                f"| {p['cpu_ms']:.1f} | {f['cpu_ms']:.1f} | "
                f"{p['cpu_ms'] / f['cpu_ms'] if f['cpu_ms'] else float('nan'):.2f} | {same} |"
            )
        lines.append("")
    if out["load"]:
        lines += [
            f"## {options.clients} clients x {options.seconds:g} s on {options.workers} workers "
            "(dids_get first page 50)",
            "",
            "| run | portal req/s | floor req/s | ratio | portal p50 / p99 ms "
            "| floor p50 / p99 ms | portal errors | floor errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for index, row in enumerate(out["load"], start=1):
            p, f = row["portal"], row["floor"]
            lines.append(
                f"| {index} | {p['rps']:.1f} | {f['rps']:.1f} | {p['rps'] / f['rps']:.2f} "
                f"| {p['p50']:.0f} / {p['p99']:.0f} | {f['p50']:.0f} / {f['p99']:.0f} "
                f"| {p['errors']} | {f['errors']} |"
            )
        samples = [s for row in out["load"] for side in row.values() for s in side["samples"]]
        if samples:
            lines += ["", "Error samples: " + "; ".join(samples)]
        lines.append("")
    if out["exports"]:
        lines += [
            "## Full exports (median)",
            "",
            "| export | portal DIDs/s | floor DIDs/s | ratio | portal first byte ms "
            "| floor first byte ms | portal peak RSS MB | floor peak RSS MB | bytes "
            "| body identical |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        labels = {"xml_full": "dids_get XML, all DIDs", "csv_full": "CSV export, all DIDs"}
        for kind, runs in out["exports"].items():
            p = _export_median(runs["portal"])
            f = _export_median(runs["floor"])
            hashes = {r["sha256"] for side in runs.values() for r in side}
            same = "yes (sha256)" if len(hashes) == 1 else "**no**"
            lines.append(
                f"| {labels[kind]} | {p['rate']:,.0f} | {f['rate']:,.0f} | "
                f"{p['rate'] / f['rate']:.2f} | {p['first_byte'] * 1000:.0f} | "
                f"{f['first_byte'] * 1000:.0f} | {p['peak_mb']:.0f} (from {p['start_mb']:.0f}) | "
                f"{f['peak_mb']:.0f} (from {f['start_mb']:.0f}) | {p['bytes']:,} | {same} |"
            )
        xml = out["exports"].get("xml_full", {}).get("portal", [])
        if xml:
            r = xml[0]
            whole = (
                r["status"] == 200
                and r["end"] == "complete"
                and r["ending"].endswith(b"</dids></page>")
                and r["counted"] == recorded["total"]
            )
            lines += [
                "",
                f"The README's production command, full XML export: HTTP {r['status']}, "
                f"{r['end']}, {r['bytes']:,} bytes, {r['counted']:,} DIDs of "
                f"{recorded['total']:,}, ends with `{r['ending'][-14:].decode()}`, "
                f"{r['seconds']:.0f} s: {'whole' if whole else '**NOT whole**'}.",
            ]
        lines.append("")
    if "sync" in out:
        r = out["sync"]
        lines += [
            "## The same full XML export on gunicorn's sync worker, timeout 30 s",
            "",
            f"gunicorn.conf.py with GUNICORN_WORKER_CLASS=sync, GUNICORN_THREADS=1, "
            f"GUNICORN_TIMEOUT=30 ({out['sync_settings']}):",
            "",
            f"HTTP {r['status']}, {r['end']} after {r['seconds']:.0f} s: {r['bytes']:,} bytes, "
            f"{r['counted']:,} DIDs of {recorded['total']:,}; "
            f"closing tag {'present' if r['ending'].endswith(b'</dids></page>') else 'missing'}.",
            "",
        ]
    return "\n".join(lines)


def _export_median(runs: list[dict]) -> dict:
    rates = [r["counted"] / r["seconds"] for r in runs]
    return {
        "rate": statistics.median(rates),
        "first_byte": statistics.median(r["first_byte"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "start_mb": min(r["start_mb"] for r in runs),
        "bytes": runs[0]["bytes"],
    }


if __name__ == "__main__":
    main()
