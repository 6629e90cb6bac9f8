"""The MOR API's XML: `<page><dids><did>…</did></dids></page>` and `<page><error>…</error></page>`.

djangorestframework-xml's XMLRenderer builds the whole document in memory with
SimplerXMLGenerator, which raises on control characters and writes a lower-case
`utf-8` declaration. This subclass keeps its shape (a root tag, an item tag,
dicts as elements) but escapes text itself, drops what XML 1.0 forbids, and can
stream a list of any length row by row.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rest_framework_xml.renderers import XMLRenderer

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

# Characters XML 1.0 does not allow at all (§2.2 "Char"): C0 controls except tab,
# newline and carriage return, lone surrogates, U+FFFE and U+FFFF. They are dropped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
# Anything that needs work; most values (numbers, names) have none and pass as they are.
# One negated class (what passes untouched: XML characters but & < > and \r): about
# four times faster to search than "[&<>\r]|" + _NOT_XML_CHAR, the same characters.
_NEEDS_WORK = re.compile(
    "[^\t\n\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def xml_text(value: str) -> str:
    """Character data that every XML parser accepts and reads back as `value`
    (minus forbidden characters). A carriage return is written as `&#13;` because
    parsers turn a literal one into a newline."""
    if _NEEDS_WORK.search(value) is None:
        return value
    return _NOT_XML_CHAR.sub("", value).translate(_ESCAPES)


class DidsXMLRenderer(XMLRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"
    root_tag_name = "page"
    item_tag_name = "did"
    # Rows per chunk of a streamed response: few, large writes, bounded memory.
    rows_per_chunk = 200

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        pretty = bool((renderer_context or {}).get("pretty"))
        return "".join(self.document(data, pretty=pretty)).encode(self.charset)

    def document(self, data: Mapping[str, Any], *, pretty: bool = False) -> Iterator[str]:
        """A whole (small) document, e.g. `{"error": "No DIDs found"}`."""
        yield DECLARATION
        yield "\n" if pretty else ""
        yield from self._element(self.root_tag_name, data, 0, pretty)

    def stream(self, dids: Iterable[Mapping[str, str]], *, pretty: bool = False) -> Iterator[str]:
        """`<page><dids>` + one `<did>` per row + `</dids></page>`, in chunks of rows."""
        nl = "\n" if pretty else ""
        yield f"{DECLARATION}{nl}<{self.root_tag_name}>{nl}{'  ' if pretty else ''}<dids>{nl}"
        batch: list[str] = []
        item = self.item_tag_name
        templates: dict[tuple[str, ...], str] = {}
        for rows, elements in enumerate(dids, start=1):
            if pretty:
                batch.extend(self._element(item, elements, 2, pretty))
            else:
                # The hot path of a large response: one flat row of text elements, one
                # search for anything to escape in the whole row (most rows have none),
                # and the row written by one %-format of its shape's template.
                values = tuple(elements.values())
                if _NEEDS_WORK.search("".join(values)) is not None:
                    values = tuple([xml_text(text) for text in values])
                tags = tuple(elements)
                template = templates.get(tags)
                if template is None:
                    template = templates[tags] = self._row_template(item, tags)
                batch.append(template % values)
            if rows % self.rows_per_chunk == 0:
                yield "".join(batch)
                batch.clear()
        if batch:
            yield "".join(batch)
        yield f"{'  ' if pretty else ''}</dids>{nl}</{self.root_tag_name}>{nl}"

    @staticmethod
    def _row_template(item: str, tags: tuple[str, ...]) -> str:
        """`<did><did>%s</did>…</did>` for rows with these elements (a response's rows
        have few shapes: the absent elements vary). Tags are element names (no `%`)."""
        return f"<{item}>" + "".join(f"<{tag}>%s</{tag}>" for tag in tags) + f"</{item}>"

    def _element(self, tag: str, value: Any, depth: int, pretty: bool) -> Iterator[str]:
        indent = "  " * depth if pretty else ""
        nl = "\n" if pretty else ""
        if isinstance(value, Mapping):
            yield f"{indent}<{tag}>{nl}"
            for key, child in value.items():
                yield from self._element(key, child, depth + 1, pretty)
            yield f"{indent}</{tag}>{nl}"
        elif isinstance(value, list | tuple):
            yield f"{indent}<{tag}>{nl}"
            for item in value:
                yield from self._element(self.item_tag_name, item, depth + 1, pretty)
            yield f"{indent}</{tag}>{nl}"
        else:
            text = "" if value is None else xml_text(str(value))
            yield f"{indent}<{tag}>{text}</{tag}>{nl}"


def html_test_page(xml_chunks: Iterable[str]) -> Iterator[str]:
    """`test=1`: the pretty-printed XML, HTML-escaped, in a small page a browser shows."""
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>dids_get</title></head><body><pre>"
    )
    for chunk in xml_chunks:
        # Escaping is per character, so chunk boundaries cannot split an entity.
        yield html.escape(chunk, quote=False)
    yield "</pre></body></html>\n"
