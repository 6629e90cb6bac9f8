"""CSV export of the DIDs list: every matching DID, streamed, the role's columns only."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from accounts.models import User

from .presentation import Presenter, did_rows, role_elements
from .streaming import RowStream

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# csv's QUOTE_MINIMAL quotes a cell holding the delimiter, the quote character or any
# character of the line terminator (as documented). With these in the terminator a
# cell holding `;` or a tab is quoted too, not only one with `,`: a spreadsheet that
# splits on `;` (or tabs) then cannot see a cell that starts after one (`x;=1+1`).
# They are cut from the end of each line again.
ALSO_QUOTED = ";\t"
LINE_END = "\r\n"
# Elements that repeat another one in the CSV (the API keeps both for old clients).
REDUNDANT = frozenset({"did_number", "did_status"})
# Lines are sent in blocks of about this many characters: one write per line would
# mean one socket send per DID under a real WSGI server.
BLOCK_SIZE = 64 * 1024


_FORMULA_START = frozenset(FORMULA_TRIGGERS)  # one character each


def csv_safe(value: str) -> str:
    """Neutralise a would-be formula with a leading apostrophe (OWASP's advice)."""
    return csv_safe_row([value])[0]


def csv_safe_row(values: list[str]) -> list[str]:
    """`csv_safe` of every cell of a line (the export's hot loop: no call per cell)."""
    return ["'" + value if value[:1] in _FORMULA_START else value for value in values]


def export_columns(viewer: User) -> tuple[str, ...]:
    """The CSV's columns: the viewer's role elements, under their contract names."""
    return tuple(name for name in role_elements(viewer) if name not in REDUNDANT)


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(dids: QuerySet, viewer: User) -> Iterator[str]:
    """The header, then one line per DID; absent elements are empty cells.

    The rows flow from a server-side cursor (dids.streaming), so memory does not grow
    with the number of DIDs and the first line leaves at once.
    """
    columns = export_columns(viewer)
    presenter = Presenter(viewer)
    writer = csv.writer(_Echo(), lineterminator=LINE_END + ALSO_QUOTED)
    cut = -len(ALSO_QUOTED)
    yield writer.writerow(columns)[:cut]
    rows = RowStream(did_rows(dids))
    try:
        for row in rows:
            elements = presenter.elements(row)
            cells = csv_safe_row([elements.get(name, "") for name in columns])
            yield writer.writerow(cells)[:cut]
    finally:
        rows.close()


def csv_blocks(dids: QuerySet, viewer: User) -> Iterator[str]:
    """`csv_lines` gathered into blocks of about BLOCK_SIZE characters, for streaming."""
    block: list[str] = []
    size = 0
    lines = csv_lines(dids, viewer)
    try:
        for line in lines:
            block.append(line)
            size += len(line)
            if size >= BLOCK_SIZE:
                yield "".join(block)
                block, size = [], 0
    finally:
        lines.close()  # at once, also when the client goes away: ends the row stream
    if block:
        yield "".join(block)
