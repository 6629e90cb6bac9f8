"""The floor: a plain WSGI app that answers the bench's requests with the project's own SQL.

    gunicorn bench.floor:application   (started by bench/api.py, with FLOOR_CASES and
                                        FLOOR_DATABASE_URL in its environment)

No Django at request time. bench/api.py calls the real views once per case in-process,
records every statement they execute (SQL text and parameters, through
`connection.execute_wrapper`) and what the viewer may see (its role's elements, which
comment it reads), and pickles that into FLOOR_CASES. For each request this app finds
its case by method, path, query string and body, replays the recorded statements in
order through psycopg 3 (client-side binding, as Django's backend does; the listing's
rows streamed in chunks of 2,000 without a server-side cursor) and writes the
`dids_get` XML or the CSV export with as little Python as it can: the same bytes as the
portal (bench/api.py compares the sha256 of both bodies), without the ORM, DRF,
middleware or model instances.

The listing statement's columns are read from its SELECT list (`"dids_did"."number"`,
`T3."username"` through the alias's JOIN, `… AS "owner_name"`), so the floor follows the
project's SQL when that changes.
"""

from __future__ import annotations

import csv
import itertools
import os
import pickle
import re
import threading
from collections.abc import Iterator
from datetime import UTC

import psycopg

CHUNK_ROWS = 2000
BLOCK_SIZE = 64 * 1024
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
STATUS_LABELS = {
    "free": "Free",
    "reserved": "Reserved",
    "active": "Active",
    "closed": "Closed",
    "terminated": "Terminated",
}
# dids.api.renderers.xml_text, to the character.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_NEEDS_WORK = re.compile(
    "[^\t\n\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# dids.exports: formula triggers, the extra quoted characters of the line terminator.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
ALSO_QUOTED = ";\t"


def xml_text(value: str) -> str:
    if _NEEDS_WORK.search(value) is None:
        return value
    return _NOT_XML_CHAR.sub("", value).translate(_ESCAPES)


# --- The listing statement's columns -------------------------------------------------


def _top_level(sql: str, separator: str) -> list[int]:
    """Offsets of `separator` outside parentheses and quotes."""
    found, depth, quote = [], 0, ""
    index = 0
    while index < len(sql):
        char = sql[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and sql.startswith(separator, index):
            found.append(index)
        index += 1
    return found


_JOIN = re.compile(r'JOIN "(\w+)"(?: (\w+))? ON \("dids_did"\."(\w+)_id" = (?:"\w+"|\w+)\."id"\)')
_COLUMN = re.compile(r'^(?:"(\w+)"|(\w+))\."(\w+)"$')
_ALIAS = re.compile(r' AS "(\w+)"$')


def listing_columns(sql: str) -> list[str]:
    """The name of each column of a listing SELECT: `number` for the DID's own columns,
    `reseller__username` for a joined row's, the alias for an expression."""
    start = len("SELECT ")
    end = _top_level(sql, " FROM ")[0]
    cuts = [start - 1, *(i for i in _top_level(sql[start:end], ",") for i in [i + start]), end]
    relation = {"dids_did": ""}
    for table, alias, field in _JOIN.findall(sql[end:]):
        relation[alias or table] = field + "__"
    names = []
    for left, right in itertools.pairwise(cuts):
        item = sql[left + 1 : right].strip()
        alias = _ALIAS.search(item)
        column = _COLUMN.match(item)
        if alias:
            names.append(alias.group(1))
        elif column:
            names.append(relation.get(column.group(1) or column.group(2), "?") + column.group(3))
        else:
            names.append(item)
    return names


# --- Rows as the contract's elements (dids.presentation) --------------------------------


def row_elements(columns: list[str], allowed: tuple[str, ...], reseller_comment: bool):
    """A function from a row (tuple) to the viewer's elements as (tag, text) pairs."""
    at = {name: index for index, name in reversed(list(enumerate(columns)))}

    def index(*names: str) -> int:
        for name in names:
            if name in at:
                return at[name]
        raise KeyError(f"the listing query has no column {names[0]}")

    number, status, language = index("number"), index("status"), index("language")
    ai, openai, updated = (
        index("ai_agent_compatible"),
        index("routes_to_openai_project_id"),
        index("updated_at"),
    )
    provider_id, provider = index("provider_id", "provider__id"), index("provider__name")
    reseller_id = index("reseller_id", "reseller__id")
    reseller = (
        index("reseller__first_name"),
        index("reseller__last_name"),
        index("reseller__username"),
    )
    owner = index("owner_name")
    device_id = index("device_id", "device__id")
    device = (index("device__type"), index("device__name"), index("device__extension"))
    plan_id = index("dial_plan_id", "dial_plan__id")
    plan = (index("dial_plan__name"), index("dial_plan__type"))
    call_limit, tone_zone = index("call_limit"), index("tone_zone")
    comment = index("reseller_comment" if reseller_comment else "comment")
    did_id, user_id = index("id"), index("user_id", "user__id")
    till = index("reserved_for_user_till")
    show_provider, show_reseller = "provider" in allowed, "reseller" in allowed
    show_plan, show_zone = "dial_plan" in allowed, "tone_zone" in allowed

    def stamp(moment) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def elements(r: tuple) -> list[tuple[str, str]]:
        out = [("did", r[number]), ("did_number", r[number])]
        if show_provider:
            out.append(("provider", r[provider] if r[provider_id] else ""))
        out += (
            ("language", r[language]),
            ("status", STATUS_LABELS[r[status]]),
            ("did_status", r[status]),
            ("ai_agent_compatible", "true" if r[ai] else "false"),
            ("routes_to_openai_project_id", r[openai]),
        )
        if r[updated] is not None:
            out.append(("updated_at", stamp(r[updated])))
        if show_reseller and r[reseller_id] is not None:
            name = f"{r[reseller[0]]} {r[reseller[1]]}".strip(" ")
            out.append(("reseller", name or r[reseller[2]]))
        if r[owner] is not None:
            out.append(("owner", r[owner]))
        if r[device_id]:
            kind, name, extension = r[device[0]], r[device[1]], r[device[2]]
            label = extension if kind.upper() == "FAX" or not name else name
            out.append(("device", f"{kind}/{label}"))
        else:
            out.append(("device", ""))
        if show_plan:
            out.append(("dial_plan", f"{r[plan[0]]} ({r[plan[1]]})" if r[plan_id] else ""))
        limit = r[call_limit]
        out.append(("simultaneous_call_limit", "Unlimited" if limit == 0 else str(limit)))
        if r[comment]:
            out.append(("comment", r[comment]))
        if show_zone:
            out.append(("tone_zone", r[tone_zone]))
        out.append(("id", str(r[did_id])))
        if r[device_id] is not None:
            out.append(("device_id", str(r[device_id])))
        if r[user_id] is not None:
            out.append(("user_id", str(r[user_id])))
        if r[status] == "closed" and r[till] is not None:
            out.append(("reserved_for_user_till", stamp(r[till])))
        return out

    return elements


# --- Bodies ------------------------------------------------------------------------------


def xml_body(rows: Iterator[list[tuple]], elements) -> Iterator[bytes]:
    yield f"{DECLARATION}<page><dids>".encode()
    for chunk in rows:
        yield "".join(
            [
                "<did>"
                + "".join([f"<{tag}>{xml_text(text)}</{tag}>" for tag, text in elements(r)])
                + "</did>"
                for r in chunk
            ]
        ).encode()
    yield b"</dids></page>"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_body(rows: Iterator[list[tuple]], elements, columns: tuple[str, ...]) -> Iterator[bytes]:
    writer = csv.writer(_Echo(), lineterminator="\r\n" + ALSO_QUOTED)
    cut = -len(ALSO_QUOTED)
    block = [writer.writerow(columns)[:cut]]
    size = len(block[0])
    for chunk in rows:
        for r in chunk:
            cells = dict(elements(r))
            line = writer.writerow(
                [
                    "'" + value if value.startswith(FORMULA_TRIGGERS) else value
                    for value in (cells.get(name, "") for name in columns)
                ]
            )[:cut]
            block.append(line)
            size += len(line)
            if size >= BLOCK_SIZE:
                yield "".join(block).encode()
                block, size = [], 0
    if block:
        yield "".join(block).encode()


# --- The app ---------------------------------------------------------------------------


def load_cases(path: str) -> dict[tuple, dict]:
    with open(path, "rb") as file:
        cases = pickle.load(file)  # noqa: S301 (written by bench/api.py for this app)
    for case in cases.values():
        sql = case["statements"][case["listing"]][0]
        case["elements"] = row_elements(
            listing_columns(sql), case["allowed"], case["reseller_comment"]
        )
    return cases


CASES = load_cases(os.environ["FLOOR_CASES"]) if "FLOOR_CASES" in os.environ else {}
DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
_local = threading.local()


def connection() -> psycopg.Connection:
    """One connection per thread, kept open (the portal keeps its own: CONN_MAX_AGE)."""
    conn = getattr(_local, "connection", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(DATABASE_URL, autocommit=True, options="-c TimeZone=UTC")
        _local.connection = conn
    return conn


def replay(case: dict) -> Iterator[list[tuple]]:
    """Every recorded statement in order; the listing's rows in chunks."""
    cursor = psycopg.ClientCursor(connection())
    for position, (sql, params) in enumerate(case["statements"]):
        if position == case["listing"]:
            rows: list[tuple] = []
            for row in cursor.stream(sql, params, size=CHUNK_ROWS):
                rows.append(row)
                if len(rows) == CHUNK_ROWS:
                    yield rows
                    rows = []
            if rows:
                yield rows
        else:
            cursor.execute(sql, params)


def application(environ: dict, start_response) -> Iterator[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    key = (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), body)
    case = CASES.get(key)
    if case is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not a bench case\n"]
    # As the portal does: the statements run and the first rows are in before the
    # status line goes out (an empty listing would be an error document).
    rows = replay(case)
    first = next(rows, [])
    start_response("200 OK", [("Content-Type", case["content_type"])])
    rows = itertools.chain([first], rows)
    if case["kind"] == "csv":
        return csv_body(rows, case["elements"], case["csv_columns"])
    return xml_body(rows, case["elements"])
