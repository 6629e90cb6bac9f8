"""CSV import of DIDs: parse → validate every row into a plan → show it → apply exactly it.

The dry run and the import are one function, `run_import(…, apply=False | True)`: both
read the whole file, plan every row (create / update / unchanged / reject, with the
reason) with the services' own checks (`did_create_preview`, `did_preview`, which
write nothing), and the import then hands each planned row to the services
(`dids_create_many`, `dids_apply_each`; source *import*, one history entry per DID). No rule
of what a row may do lives here: only how a file's cells become the services' values.

What the file is and what each row may do is documented for users in docs/gui.md
("Importing a CSV file"); in short:
- UTF-8 with or without a BOM, `,` or `;` between cells (the header tells which), one
  header row with the CSV export's column names (plus a few the export lacks), so an
  export can be edited and imported again.
- An absent column leaves that value alone; a present cell is the value the DID is to
  have (empty: empty, no provider, not held, 0, false), except `status`, where empty
  means "as it is".
- The whole file is read before anything is planned or written: a file that is too
  large, binary, not UTF-8, not CSV or without a recognisable header is refused whole.
- A cell starting with `'` and then `=`, `+`, `-`, `@`, a tab or a line break is read
  without the `'` (the export's protection of would-be formulas, undone so that values
  round-trip). Every other cell is plain text: nothing is evaluated, and the export
  and the pages neutralise or escape such text again on the way out.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any

from django.db.models import Q

from accounts.models import SystemSettings, User

from .exports import FORMULA_TRIGGERS
from .lifecycle import TRANSITIONS
from .models import Did, Provider, display_name_sql
from .presentation import rfc3339
from .services import (
    DidActionRefused,
    DidChange,
    Source,
    clean_number,
    creation_refusal,
    did_create,
    did_create_preview,
    did_current,
    did_preview,
    dids_apply_each,
    dids_create_many,
    existing_numbers,
)

# Limits. The page plans and applies within one request; the command streams.
GUI_MAX_BYTES = 5 * 1024 * 1024
GUI_MAX_ROWS = 10_000
COMMAND_MAX_BYTES = 200 * 1024 * 1024
CHUNK_ROWS = 900  # rows planned together: numbers looked up per query (SQLite's 999 limit)
APPLY_BATCH = 200  # updates per transaction (dids_apply_each)

CREATE, UPDATE, UNCHANGED, REJECT = "create", "update", "unchanged", "reject"
OUTCOMES = (CREATE, UPDATE, UNCHANGED, REJECT)

# The columns an import reads: the CSV export's (dids.exports.export_columns), then some
# the export does not have. The words are shown on the import page.
READ_COLUMNS: dict[str, str] = {
    "did": "the DID number (required)",
    "id": "the DID's id as exported; when given, it must be the id of the DID with that number",
    "provider": "the provider's name; empty: no provider",
    "provider_id": "the provider's id (wins over provider)",
    "reseller": "the reseller that holds the DID, by username or name; empty: not held",
    "reseller_id": "the reseller's id (wins over reseller)",
    "status": "the status the DID is to have; empty: as it is",
    "language": "e.g. en",
    "simultaneous_call_limit": "a whole number; 0 or Unlimited: no limit",
    "comment": "your side's comment (the operator's comment; a reseller's own comment)",
    "reseller_comment": "the reseller's comment",
    "tone_zone": "one of the tone zones (e.g. us, lt); empty: none",
    "grace_time": "seconds",
    "callerid_name_prefix": "the CallerID name prefix",
    "custom_sip_header": "the custom SIP header",
    "ai_agent_compatible": "true or false (also yes/no, 1/0; empty: false)",
    "routes_to_openai_project_id": "the VoiceAI routing target",
    "updated_at": "as exported: a row that would change a DID changed since then is rejected",
}
# Columns of the export that follow from the lifecycle (the DID page and the bulk actions
# set them): accepted, so that an export imports as it is, and ignored.
IGNORED_COLUMNS = ("owner", "device", "dial_plan", "device_id", "user_id", "reserved_for_user_till")
ALIASES = {"call_limit": "simultaneous_call_limit"}
TEXT_COLUMNS = frozenset(
    {"language", "tone_zone", "callerid_name_prefix", "custom_sip_header"}
    | {"routes_to_openai_project_id", "reseller_comment"}
)
WHOLE_NUMBER_COLUMNS = {"simultaneous_call_limit": "call_limit", "grace_time": "grace_time"}
TRUE_WORDS, FALSE_WORDS = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0", ""})

# The status words of a file: the export's labels (Free, …) and the API's values (free, …).
STATUS_WORDS = {
    **{value: value for value in Did.Status.values},
    **{label.lower(): value for value, label in Did.Status.choices},
}
STATUS_LIST = "Free, Reserved, Active, Closed or Terminated"

BOM = b"\xef\xbb\xbf"
SAVE_AS = 'Save it from the spreadsheet as "CSV UTF-8" and upload that file.'
SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument spreadsheet?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office document"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)


class ImportRefused(Exception):
    """The file as a whole cannot be imported; nothing was planned or written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise ImportRefused(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit // 1_048_576} MB."
        )


def undo_formula_guard(cell: str) -> str:
    """`'=…` → `=…`: the export's protection against formulas (`csv_safe`), undone."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell


def column_name(cell: str) -> str:
    name = cell.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")
    return ALIASES.get(name, name)


def _brief(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


# --- Reading the file ------------------------------------------------------------


class _Lines:
    """The file's physical lines as text, counted, its bytes hashed; ImportRefused at the
    first line that is not UTF-8 text or holds a NUL byte."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.count = 0
        self.digest = hashlib.sha256()
        self._lines = self._read(fileobj)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._lines)

    def _read(self, fileobj: IO[bytes]) -> Iterator[str]:
        for raw in fileobj:
            self.digest.update(raw)
            # Files iterate on b"\n"; a lone \r (old Macs) ends a line too.
            for piece in raw.splitlines(keepends=True):
                self.count += 1
                if self.count == 1:
                    piece = piece.removeprefix(BOM)
                if b"\x00" in piece:
                    raise ImportRefused(
                        f"Line {self.count} holds a NUL byte: this is not a text file. {SAVE_AS}"
                    )
                try:
                    yield piece.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ImportRefused(
                        f"Line {self.count} is not UTF-8 text (byte 0x{piece[error.start]:02X} "
                        f"at position {error.start + 1}). {SAVE_AS}"
                    ) from None


def _refuse_binary(head: bytes) -> None:
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            raise ImportRefused(f"This is {what}, not a CSV file. {SAVE_AS}")
    if b"\x00" in head:
        raise ImportRefused(f"This is a binary file, not a CSV file. {SAVE_AS}")


def _records(lines: _Lines, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) for every record that is not blank."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        start = lines.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportRefused(f"Line {start} is not valid CSV: {error}.") from None
        if any(cell.strip() for cell in cells):
            yield start, cells


def _header(lines: _Lines) -> tuple[str, list[str], int]:
    """(delimiter, column names, the header's line number) from the first lines."""
    delimiter = ""
    for text in lines:
        stripped = text.strip()
        if not stripped:
            continue
        if not delimiter and stripped.lower() in ("sep=,", "sep=;"):
            delimiter = stripped[-1]  # Excel's hint line
            continue
        for candidate in [delimiter] if delimiter else [",", ";"]:
            try:
                cells = next(csv.reader([text], delimiter=candidate, strict=True))
            except (csv.Error, StopIteration):
                continue
            names = [column_name(cell) for cell in cells]
            if "did" in names:
                return candidate, names, lines.count
        first = stripped.split(",")[0].split(";")[0].strip().strip('"')
        hint = (
            f" It starts with {_brief(first)}: add a header line above the rows."
            if first[:1].isdigit()
            else ""
        )
        raise ImportRefused(
            "The first line is not a recognisable header: it must name the columns, with "
            f"did among them, as the CSV export does (e.g. did,provider,language).{hint}"
        )
    raise ImportRefused("The file is empty.")


def _check_columns(names: list[str]) -> None:
    unknown = [n for n in names if n and n not in READ_COLUMNS and n not in IGNORED_COLUMNS]
    if unknown:
        listed = ", ".join(unknown)
        raise ImportRefused(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {listed}. The columns an import "
            f"reads are {', '.join(READ_COLUMNS)}; it ignores {', '.join(IGNORED_COLUMNS)}."
        )
    counts = Counter(n for n in names if n)
    twice = [n for n, count in counts.items() if count > 1]
    if twice:
        raise ImportRefused(f"The column {twice[0]} is in the header twice.")


@dataclass
class Layout:
    """What the first pass over the file learnt: how to read it, and its numbers."""

    delimiter: str
    names: list[str]  # the header's column names, by position ("": an unnamed column)
    header_line: int
    rows: int
    duplicates: dict[str, list[int]]  # a number on several lines → those lines
    file_digest: str

    @property
    def read_columns(self) -> list[str]:
        return [n for n in self.names if n in READ_COLUMNS]

    @property
    def ignored_columns(self) -> list[str]:
        return [n for n in self.names if n and n not in READ_COLUMNS]


def read_layout(fileobj: IO[bytes], *, max_rows: int | None = None) -> Layout:
    """The first pass: the whole file is decoded and parsed, its rows counted and its
    repeated numbers found, before any row is planned. ImportRefused for a file that
    cannot be imported as a whole."""
    fileobj.seek(0)
    _refuse_binary(fileobj.read(8192))
    fileobj.seek(0)
    lines = _Lines(fileobj)
    delimiter, names, header_line = _header(lines)
    _check_columns(names)
    did_at = names.index("did")
    first_line: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    rows = 0
    for line, cells in _records(lines, delimiter):
        rows += 1
        if did_at >= len(cells):
            continue
        number = undo_formula_guard(cells[did_at]).strip(" \t\r\n")
        if number in first_line:
            duplicates.setdefault(number, [first_line[number]]).append(line)
        elif number:
            first_line[number] = line
    if rows == 0:
        raise ImportRefused("The file has a header but no DIDs under it.")
    if max_rows is not None and rows > max_rows:
        raise ImportRefused(
            f"The file has {rows:,} rows; this page imports at most {max_rows:,} at a time. "
            "Split the file, or have an administrator run manage.py import_dids with it."
        )
    return Layout(delimiter, names, header_line, rows, duplicates, lines.digest.hexdigest())


def read_records(fileobj: IO[bytes], layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """The second pass: the records under the header (the first pass checked them all)."""
    fileobj.seek(0)
    lines = _Lines(fileobj)
    for _ in range(layout.header_line):
        next(lines)
    return _records(lines, layout.delimiter)


# --- Planning --------------------------------------------------------------------

UNSET: Any = object()  # a column the file does not have: the value is left alone


@dataclass
class Wanted:
    """A row's values, read and resolved: what the DID is to be."""

    line: int
    number: str
    id: int | None = None
    updated_at: datetime | None = None
    status: str | None = None
    reseller: Any = UNSET  # User | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlanRow:
    """One row of the plan: what the import does with a line of the file, and why."""

    line: int
    number: str
    outcome: str
    reason: str = ""
    changes: dict = field(default_factory=dict)  # as the DID's history will show them
    # What the import hands to the services:
    did_id: int | None = None
    action: str | None = None
    target: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    before: dict | None = None  # the DID as planned against (did_snapshot)
    state: dict | None = None  # the same, as stored values (`stored_state`)
    error: str = ""  # why the services refused it at import time

    def shown(self) -> dict[str, Any]:
        shown = {
            "line": self.line,
            "number": self.number,
            "outcome": self.outcome,
            "reason": self.reason,
            "changes": self.changes,
        }
        if self.error:
            shown["error"] = self.error
        return shown

    def digest_part(self) -> bytes:
        state = [self.line, self.number, self.outcome, self.reason, self.changes]
        state += [self.did_id, self.action, self.before]
        return json.dumps(state, sort_keys=True, default=str).encode() + b"\n"


def _reject(line: int, number: str, reason: str) -> PlanRow:
    return PlanRow(line=line, number=number, outcome=REJECT, reason=reason)


def _whole_number(column: str, text: str, *, unlimited: bool = False) -> int:
    text = text.strip()
    if text == "" or (unlimited and text.lower() == "unlimited"):
        return 0
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return int(text)
    also = " or Unlimited" if unlimited else ""
    raise _Rejected(f"{column} must be a whole number{also}, not {_brief(text)}.")


def _moment(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Rejected(
            f"updated_at must be a time as the export writes it (2025-01-31T12:00:00Z), "
            f"not {_brief(text)}."
        )
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _Ambiguous:
    """A name several providers or resellers share. A DID that has one of them already
    keeps it (an export names them so, and must import unchanged); otherwise the row is
    rejected with `message`."""

    choices: dict[int, Any]
    message: str

    def settled(self, current_id: int | None) -> Any:
        if current_id in self.choices:
            return self.choices[current_id]
        raise _Rejected(self.message)


class _Providers:
    """The providers a row may name (the actor's: the operator all, a reseller its own)."""

    def __init__(self, actor: User) -> None:
        providers = Provider.objects.all()
        if not actor.manages_all_dids:
            providers = providers.filter(owner=actor)
        self.by_id = {p.pk: p for p in providers}
        self.by_name: dict[str, list[Provider]] = {}
        for provider in self.by_id.values():
            self.by_name.setdefault(provider.name, []).append(provider)

    def find(self, by_id: str | None, by_name: str | None) -> Provider | _Ambiguous | None:
        if by_id is not None and by_id.strip():
            text = by_id.strip()
            if text.isascii() and text.isdigit() and int(text) in self.by_id:
                return self.by_id[int(text)]
            raise _Rejected(f"Unknown provider {text}.")
        if not (by_name or "").strip():
            return None
        found = self.by_name.get(by_name.strip(), [])
        if not found:
            raise _Rejected(f"Unknown provider {_brief(by_name.strip())}.")
        if len(found) > 1:
            ids = ", ".join(str(p.pk) for p in found)
            return _Ambiguous(
                {p.pk: p for p in found},
                f"Several providers are named {_brief(by_name.strip())} (ids {ids}): "
                "give provider_id instead.",
            )
        return found[0]


class _Resellers:
    """The reseller a row names. The operator's: any reseller; a reseller's: itself."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.cache: dict[tuple[str, str], User | _Ambiguous | str] = {}

    def find(self, by_id: str | None, by_name: str | None) -> User | _Ambiguous | None:
        if by_id is not None and by_id.strip():
            key = ("id", by_id.strip())
        elif (by_name or "").strip():
            key = ("name", by_name.strip())
        else:
            return self.actor if not self.actor.manages_all_dids else None
        if key not in self.cache:
            self.cache[key] = self._lookup(*key)
        found = self.cache[key]
        if isinstance(found, str):
            raise _Rejected(found)
        return found

    def _lookup(self, kind: str, text: str) -> User | _Ambiguous | str:
        resellers = User.objects.filter(role=User.Role.RESELLER)
        if not self.actor.manages_all_dids:
            resellers = resellers.filter(pk=self.actor.pk)
        if kind == "id":
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                return f"reseller_id must be a whole number, not {_brief(text)}."
            found = list(resellers.filter(pk=int(text)))
        else:
            named = resellers.annotate(shown=display_name_sql("")).filter(
                Q(username=text) | Q(shown=text)
            )
            found = list(named)
            exact = [r for r in found if r.username == text]
            found = exact or found
        if not found:
            if not self.actor.manages_all_dids:
                return "Only the operator hands DIDs to resellers: your DIDs stay yours."
            return f"Unknown reseller {_brief(text)}."
        if len(found) > 1:
            ids = ", ".join(str(r.pk) for r in found)
            return _Ambiguous(
                {r.pk: r for r in found},
                f"Several resellers are named {_brief(text)} (ids {ids}): give reseller_id.",
            )
        return found[0]


def import_action(current: str, wanted: str) -> str:
    """The lifecycle action that takes a DID from status `current` to `wanted`, for an
    import: only moves that need nothing but the DID (whether the DID's state allows
    it is the lifecycle table's answer, through the services)."""
    if wanted == Did.Status.FREE:
        return "make_free"
    if wanted == Did.Status.CLOSED:
        return "close"
    if wanted == Did.Status.TERMINATED:
        return "terminate"
    if wanted == Did.Status.ACTIVE and current == Did.Status.CLOSED:
        return "reactivate"
    needs = "a user" if wanted == Did.Status.RESERVED else "a device or a dial plan"
    label = Did.Status(wanted).label
    raise _Rejected(
        f"An import does not make a DID {label.lower()}: that needs {needs}; "
        "use the DID's page or the list's actions."
    )


class Planner:
    """Turns rows into plan rows, a chunk at a time, for one actor."""

    def __init__(self, actor: User, layout: Layout) -> None:
        self.actor = actor
        self.layout = layout
        self.names = layout.names
        self.did_at = layout.names.index("did")
        self.cannot_create = creation_refusal(actor)
        self.comment_field = "reseller_comment" if actor.writes_reseller_comment else "comment"
        if self.comment_field == "reseller_comment" and {"comment", "reseller_comment"} <= set(
            layout.names
        ):
            raise ImportRefused(
                "The columns comment and reseller_comment are both your comment: keep one."
            )
        self.providers = _Providers(actor)
        self.resellers = _Resellers(actor)

    def plan(self, records: Iterable[tuple[int, list[str]]]) -> list[PlanRow]:
        read = [self._read(line, cells) for line, cells in records]
        numbers = [w.number for w in read if isinstance(w, Wanted)]
        mine = {
            did.number: did
            for did in Did.objects.manageable_by(self.actor)
            .filter(number__in=numbers)
            .select_related("provider", "user", "device", "reseller", "dial_plan")
        }
        elsewhere: set[str] = set()
        if not self.actor.manages_all_dids:
            elsewhere = set(existing_numbers([n for n in numbers if n not in mine]))
        return [
            w if isinstance(w, PlanRow) else self._plan(w, mine.get(w.number), elsewhere)
            for w in read
        ]

    # Reading a row's cells into what it wants.

    def _read(self, line: int, cells: list[str]) -> Wanted | PlanRow:
        shown = cells[self.did_at].strip()[:60] if self.did_at < len(cells) else ""
        width = len(self.names)
        if len(cells) < width or any(cell.strip() for cell in cells[width:]):
            return _reject(line, shown, f"The line has {len(cells)} cells; the header has {width}.")
        values = {
            name: undo_formula_guard(cells[i])
            for i, name in enumerate(self.names)
            if name in READ_COLUMNS
        }
        try:
            number = clean_number(values["did"])
        except DidActionRefused as refused:
            return _reject(line, shown, refused.message)
        if number in self.layout.duplicates:
            lines = ", ".join(str(n) for n in self.layout.duplicates[number])
            return _reject(
                line, number, f"DID {number} is on lines {lines}: a number may be on one line only."
            )
        wanted = Wanted(line=line, number=number)
        problems: list[str] = []
        for step in (self._read_values, self._read_provider, self._read_reseller):
            try:
                step(wanted, values)
            except _Rejected as rejected:
                problems.append(rejected.reason)
        if problems:
            return _reject(line, number, " ".join(problems))
        return wanted

    def _read_values(self, wanted: Wanted, values: dict[str, str]) -> None:
        problems: list[str] = []
        for name, text in values.items():
            try:
                self._read_value(wanted, name, text)
            except _Rejected as rejected:
                problems.append(rejected.reason)
        if problems:
            raise _Rejected(" ".join(problems))

    def _read_value(self, wanted: Wanted, name: str, text: str) -> None:
        if name == "id":
            value = text.strip()
            if value and not (value.isascii() and value.isdigit() and len(value) <= 18):
                raise _Rejected(f"id must be a whole number, not {_brief(value)}.")
            wanted.id = int(value) if value else None
        elif name == "updated_at":
            wanted.updated_at = _moment(text)
        elif name == "status":
            word = text.strip().lower()
            if word and word not in STATUS_WORDS:
                raise _Rejected(f"Unknown status {_brief(text.strip())}: {STATUS_LIST}.")
            wanted.status = STATUS_WORDS[word] if word else None
        elif name == "comment":
            wanted.fields[self.comment_field] = text
        elif name in TEXT_COLUMNS:
            wanted.fields[name] = text
        elif name in WHOLE_NUMBER_COLUMNS:
            unlimited = name == "simultaneous_call_limit"
            wanted.fields[WHOLE_NUMBER_COLUMNS[name]] = _whole_number(
                name, text, unlimited=unlimited
            )
        elif name == "ai_agent_compatible":
            word = text.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise _Rejected(f"ai_agent_compatible must be true or false, not {_brief(text)}.")
            wanted.fields[name] = word in TRUE_WORDS

    def _read_provider(self, wanted: Wanted, values: dict[str, str]) -> None:
        if "provider" in values or "provider_id" in values:
            wanted.fields["provider"] = self.providers.find(
                values.get("provider_id"), values.get("provider")
            )

    def _read_reseller(self, wanted: Wanted, values: dict[str, str]) -> None:
        if "reseller" in values or "reseller_id" in values:
            wanted.reseller = self.resellers.find(values.get("reseller_id"), values.get("reseller"))

    # Planning what it wants against the DID as it is.

    def _plan(self, wanted: Wanted, did: Did | None, elsewhere: set[str]) -> PlanRow:
        try:
            if did is None:
                if wanted.number in elsewhere:
                    raise _Rejected(f"DID {wanted.number} already exists.")
                return self._plan_create(wanted)
            return self._plan_update(wanted, did)
        except _Rejected as rejected:
            return _reject(wanted.line, wanted.number, rejected.reason)
        except DidActionRefused as refused:
            return _reject(wanted.line, wanted.number, refused.message)

    def _plan_create(self, wanted: Wanted) -> PlanRow:
        if wanted.id is not None:
            raise _Rejected(
                f"No DID has the number {wanted.number}, but the row gives the id "
                f"{wanted.id}: leave id empty to create it."
            )
        if self.cannot_create:
            raise _Rejected(self.cannot_create)
        if wanted.status not in (None, Did.Status.FREE):
            label = Did.Status(wanted.status).label.lower()
            raise _Rejected(f"A new DID is free: it cannot be created {label}.")
        _settle(wanted, None)
        fields = {k: v for k, v in wanted.fields.items() if v not in (None, "", 0, False)}
        if wanted.reseller is not UNSET and wanted.reseller is not None:
            fields["reseller"] = wanted.reseller
        preview = did_create_preview(number=wanted.number, actor=self.actor, fields=fields)
        return PlanRow(
            line=wanted.line,
            number=wanted.number,
            outcome=CREATE,
            changes=preview.changes,
            fields=fields,
        )

    def _plan_update(self, wanted: Wanted, did: Did) -> PlanRow:
        number = wanted.number
        if wanted.id is not None and wanted.id != did.pk:
            raise _Rejected(f"DID {number} has the id {did.pk}, not {wanted.id}.")
        current = did_current(did)
        _settle(wanted, current)
        changed = {
            name: value
            for name, value in wanted.fields.items()
            if _value(current, name) != (value.pk if isinstance(value, Provider) else value)
        }
        action, target, moves = self._move(wanted, current)
        unchanged = PlanRow(line=wanted.line, number=number, outcome=UNCHANGED, did_id=did.pk)
        if action is None and not changed:
            return unchanged
        if (
            wanted.updated_at is not None
            and did.updated_at is not None
            and did.updated_at.replace(microsecond=0) != wanted.updated_at
        ):
            raise _Rejected(
                f"DID {number} was changed at {rfc3339(did.updated_at)}; the row is from "
                f"{rfc3339(wanted.updated_at)}. Export it again, or empty its updated_at "
                "cell to overwrite the change."
            )
        try:
            preview = did_preview(
                did, action=action, actor=self.actor, target=target, fields=changed
            )
        except DidActionRefused as refused:
            raise _Rejected(f"{moves}{refused.message}") from None
        if wanted.reseller is not UNSET and preview.did.reseller_id != _pk(wanted.reseller):
            if current.reseller_id == _pk(wanted.reseller):
                raise _Rejected(
                    f'"{TRANSITIONS[action].name}" also takes DID {number} from its reseller '
                    f"{current.reseller.display_name}, and the row keeps it there: empty its "
                    "reseller cell to do both."
                )
            raise _Rejected(
                "The row changes both the status and the reseller: an import makes one "
                "lifecycle move per DID. Import the status first, then the reseller."
            )
        if not preview.changes:
            return unchanged
        changes = preview.changes
        if action is not None and TRANSITIONS[action].starts_closing:
            # The closing period starts when the import runs, not at the dry run.
            days = SystemSettings.load().days_for_did_close
            changes["reserved_for_user_till"][1] = f"{days} days after the import"
        return PlanRow(
            line=wanted.line,
            number=number,
            outcome=UPDATE,
            changes=changes,
            did_id=did.pk,
            action=action,
            target=target,
            fields=changed,
            before=preview.before,
            state=stored_state(current),
        )

    def _move(self, wanted: Wanted, current: Did) -> tuple[str | None, Any, str]:
        """The lifecycle action the row asks for (one at most: a new status, or else a new
        reseller), its target, and words naming the status move for a refusal."""
        action, target, moves = None, None, ""
        if wanted.status is not None and wanted.status != current.status:
            action = import_action(current.status, wanted.status)
            moves = f"Status {current.status_label} → {Did.Status(wanted.status).label}: "
        if wanted.reseller is UNSET or _pk(wanted.reseller) == current.reseller_id:
            return action, target, moves
        if action is not None:
            # Some moves also end the hold (the operator's "make free", "terminate"): the
            # plan checks that the DID ends up as the row says.
            return action, target, moves
        if current.reseller_id is None:
            return "hand_to_reseller", wanted.reseller, ""
        if wanted.reseller is None:
            return "take_back", None, ""
        raise _Rejected(
            f"DID {current.number} is held by {current.reseller.display_name}: take it back "
            f"first (an empty reseller cell), then hand it to {wanted.reseller.display_name}."
        )


def _settle(wanted: Wanted, current: Did | None) -> None:
    """Names that several providers or resellers share: the DID's own, or rejected."""
    provider = wanted.fields.get("provider")
    if isinstance(provider, _Ambiguous):
        wanted.fields["provider"] = provider.settled(current and current.provider_id)
    if isinstance(wanted.reseller, _Ambiguous):
        wanted.reseller = wanted.reseller.settled(current and current.reseller_id)


def _pk(obj: Any) -> int | None:
    return None if obj is None else obj.pk


def _value(did: Did, name: str) -> Any:
    return did.provider_id if name == "provider" else getattr(did, name)


# --- Applying the plan -----------------------------------------------------------


def stored_state(did: Did) -> dict[str, Any]:
    """A DID's stored values but its timestamps (comparing them needs no related rows)."""
    return {
        f.attname: getattr(did, f.attname)
        for f in Did._meta.concrete_fields
        if f.attname not in ("created_at", "updated_at")
    }


def _as_planned(row: PlanRow) -> Callable[[Did], None]:
    """The services' precheck: the locked DID (released if due) is still as planned."""

    def precheck(did: Did) -> None:
        if stored_state(did) != row.state:
            raise DidActionRefused(
                "stale",
                f"DID {did.number} was changed since the dry run: it was left as it is.",
            )

    return precheck


def _apply(rows: list[PlanRow], *, actor: User, address: str) -> None:
    """Hand the planned rows to the services; a row they refuse now gets its `error`."""
    creates = [row for row in rows if row.outcome == CREATE]
    if creates:
        write = {"actor": actor, "source": Source.IMPORT, "address": address}
        try:
            dids_create_many(items=[(row.number, row.fields) for row in creates], **write)
        except DidActionRefused:
            # Something changed since the plan (a number created meanwhile): each on its own.
            for row in creates:
                try:
                    did_create(number=row.number, fields=row.fields, **write)
                except DidActionRefused as refused:
                    row.error = refused.message
    updates = [row for row in rows if row.outcome == UPDATE]
    for start in range(0, len(updates), APPLY_BATCH):
        batch = updates[start : start + APPLY_BATCH]
        refusals = dids_apply_each(
            [
                DidChange(
                    did_id=row.did_id,
                    action=row.action,
                    target=row.target,
                    fields=row.fields,
                    precheck=_as_planned(row),
                )
                for row in batch
            ],
            actor=actor,
            source=Source.IMPORT,
            address=address,
        )
        for row, refused in zip(batch, refusals, strict=True):
            if refused is not None:
                row.error = refused.message


# --- The dry run and the import ----------------------------------------------------


@dataclass
class ImportReport:
    layout: Layout
    counts: Counter = field(default_factory=Counter)  # planned outcomes
    rows: list[PlanRow] = field(default_factory=list)  # all, or only those with a problem
    digest: str = ""  # of the plan and the state it was computed against
    applied: bool = False
    stale: bool = False  # the plan differs from the one expected: nothing was written

    @property
    def failed(self) -> list[PlanRow]:
        """Planned rows the services refused at import time (changed since the plan)."""
        return [row for row in self.rows if row.error]

    def done(self, outcome: str) -> int:
        """How many rows of this outcome were applied (all planned, if not applying)."""
        return self.counts[outcome] - sum(1 for row in self.failed if row.outcome == outcome)

    def summary(self) -> str:
        if not self.applied:
            return (
                f"Dry run: {self.counts[CREATE]:,} to create, {self.counts[UPDATE]:,} to "
                f"update, {self.counts[UNCHANGED]:,} unchanged, {self.counts[REJECT]:,} "
                "rejected. Nothing was written."
            )
        text = (
            f"Imported: {self.done(CREATE):,} created, {self.done(UPDATE):,} updated, "
            f"{self.counts[UNCHANGED]:,} unchanged, {self.counts[REJECT]:,} rejected."
        )
        if self.failed:
            text += (
                f" {len(self.failed):,} left as they were: they changed since they were checked."
            )
        return text

    def as_plan(self) -> dict[str, Any]:
        """What the pages store and show."""
        return {
            "counts": {outcome: self.counts.get(outcome, 0) for outcome in OUTCOMES},
            "rows": [row.shown() for row in self.rows],
            "columns": self.layout.read_columns,
            "ignored": self.layout.ignored_columns,
            "delimiter": self.layout.delimiter,
        }


def _chunks(records: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list]:
    while chunk := list(islice(records, size)):
        yield chunk


def run_import(
    fileobj: IO[bytes],
    *,
    actor: User,
    apply: bool,
    address: str = "",
    max_rows: int | None = None,
    expected_digest: str | None = None,
    keep_rows: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """The dry run (`apply=False`) and the import (`apply=True`) of a CSV file.

    With `expected_digest` (the digest of the dry run that was shown) the whole plan is
    made first and applied only if its digest is the same: else nothing is written and
    the report, `stale`, is the new dry run. Without it (the command) each chunk is
    applied as soon as it is planned, so memory does not grow with the file.
    `keep_rows=False` keeps only the rows with a problem; `progress(rows done, rows in the
    file)` is called after each chunk. ImportRefused: the file as a
    whole cannot be imported, and nothing was written.
    """
    if not actor.may_manage_dids:
        raise ImportRefused("You may not change DIDs.")
    layout = read_layout(fileobj, max_rows=max_rows)
    planner = Planner(actor, layout)
    digest = hashlib.sha256(f"{layout.file_digest}:{actor.pk}:".encode())
    report = ImportReport(layout=layout)
    chunks: Iterable[list[PlanRow]] = (
        planner.plan(records) for records in _chunks(read_records(fileobj, layout), CHUNK_ROWS)
    )
    digested = False
    if apply and expected_digest is not None:
        chunks = list(chunks)
        for rows in chunks:
            for row in rows:
                digest.update(row.digest_part())
        digested = True
        if not hmac.compare_digest(digest.hexdigest(), expected_digest):
            report.stale, apply = True, False
    for rows in chunks:
        if not digested:
            for row in rows:
                digest.update(row.digest_part())
        if apply:
            _apply(rows, actor=actor, address=address)
        for row in rows:
            report.counts[row.outcome] += 1
            if keep_rows or row.outcome == REJECT or row.error:
                report.rows.append(row)
        if progress is not None:
            progress(len(rows), layout.rows)
    report.digest = digest.hexdigest()
    report.applied = apply
    return report
