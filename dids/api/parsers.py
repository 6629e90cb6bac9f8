"""Request body parsing for the MOR API: a JSON object whose values become parameter text."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from accounts.authentication import MALFORMED


def _refuse_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python's json module would accept them.
    raise ValueError(f"{name} is not JSON")


class ContractJSONParser(BaseParser):
    """A JSON object body (§1, §4): strings as they are, numbers as the text they are
    written with (`5` → "5", `1.0` → "1.0", so never a whole number), anything else
    (true/false, null, arrays, objects) MALFORMED, so that the FilterSet reports
    `Invalid <name>: …` for a known parameter.

    Numbers are kept as text (never int()/float()): no precision is lost, and a
    number with thousands of digits cannot make int() raise.
    """

    media_type = "application/json"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> dict[str, object]:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        # DRF reads the body from the stream, past Django's body size check: cap it here.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise ParseError("JSON body too large")
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_int=str,
                parse_float=str,
                parse_constant=_refuse_constant,
            )
        except (ValueError, UnicodeDecodeError, LookupError, RecursionError) as exc:
            raise ParseError("JSON body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise ParseError("JSON body is not an object")
        return {key: value if isinstance(value, str) else MALFORMED for key, value in data.items()}
