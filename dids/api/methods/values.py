"""The values of the write methods' parameters (did_methods.md §6), read and checked.

Every reader returns the parsed value or None where the contract says "missing,
malformed, or names nothing" (the method then answers its not-found text), so that
a method's checks read as the contract's table. Nothing here touches the database
except the lookups that say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import MALFORMED, Malformed, api_parameters

WHOLE_NUMBER = re.compile(r"[0-9]+\Z")
# Ids are bigints: a larger value names nothing (and never reaches the database).
MAX_ID = 2**63 - 1
# The largest value a simultaneous call limit or a grace time may take (a 32-bit integer).
MAX_INT = 2**31 - 1
# domain.md §4: a digit, then digits or ASCII letters, at most 50 characters in all.
DID_NUMBER = re.compile(r"[0-9][0-9A-Za-z]{0,49}\Z")
# §6.3: the whitespace trimmed around a DID number.
NUMBER_WHITESPACE = " \t\n\r"
# §6.4: one line of text has no character below U+0020 and no U+007F.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f]")

Value = str | Malformed | None


class Parameters:
    """A request's parameters as the write methods read them.

    `get` follows dids_get.md §1 (an empty value is as if absent); `clearing` is for
    the three parameters whose empty value clears the field (§6.5: `comment`,
    `reseller_comment`, `custom_sip_header`).
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self.values = api_parameters(request)

    def get(self, name: str) -> Value:
        return self.values.get(name)

    def given(self, name: str) -> bool:
        return self.get(name) is not None

    def clearing(self, name: str) -> Value:
        """The value; "" when given empty (clear the field); None when absent.

        The query string wins over the body on a duplicate name, also when its value
        is the empty one.
        """
        query = self.request.query_params
        if name in query and query.get(name) == "":
            return ""
        value = self.get(name)
        if value is not None:
            return value
        return "" if self._empty_in_body(name) else None

    def _empty_in_body(self, name: str) -> bool:
        try:
            body = self.request.data
        except exceptions.APIException:
            return False
        if isinstance(body, QueryDict):
            return name in body and body.get(name) == ""
        if isinstance(body, Mapping):
            return body.get(name) == ""
        return False


def whole_number(value: Value, *, maximum: int) -> int | None:
    """A whole number (ASCII digits, leading zeros allowed) up to `maximum`, else None."""
    if not isinstance(value, str) or not WHOLE_NUMBER.match(value):
        return None
    digits = value.lstrip("0") or "0"
    # Compare lengths first: int() of thousands of digits is slow (and Python limits it).
    if len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def identifier(value: Value) -> int | None:
    """An id (§6.2): a whole number from 1 that could name a row; None names nothing."""
    number = whole_number(value, maximum=MAX_ID)
    return number if number else None


def did_number(value: Value) -> str | None:
    """`did` trimmed (§6.3); None when missing or not text. Not checked against the rule."""
    if not isinstance(value, str):
        return None
    trimmed = value.strip(NUMBER_WHITESPACE)
    return trimmed or None


def is_did_number(number: str | None) -> bool:
    """domain.md §4's rule for a DID number (the one the GUI applies too)."""
    return number is not None and DID_NUMBER.match(number) is not None


def is_text(value: Value, *, max_length: int) -> bool:
    """Text (§6.4): a string without U+0000 (MALFORMED stands for anything else)."""
    return isinstance(value, str) and "\x00" not in value and len(value) <= max_length


def is_one_line(value: Value, *, max_length: int) -> bool:
    """One line of text (§6.4): text with no control character."""
    return is_text(value, max_length=max_length) and not _NOT_ONE_LINE.search(value)


__all__ = [
    "MALFORMED",
    "MAX_INT",
    "Parameters",
    "did_number",
    "identifier",
    "is_did_number",
    "is_one_line",
    "is_text",
    "whole_number",
]
