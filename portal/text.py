"""What text from outside may contain: the one rule for every value that reaches the
database or a renderer (filters, forms, imports, the hash tool, the API).

Two things are not text here:

- the NUL character: PostgreSQL cannot store it in a text column (a query that
  compares with it fails), and SQLite cuts a LIKE pattern at it (so `%<NUL>`
  would match everything);
- a lone surrogate (U+D800 to U+DFFF, e.g. from a JSON `"\\ud800"`): it has no
  UTF-8 form, so no database driver, XML or HTML writer can encode it.

Everything else is text, control characters included: the databases store them,
the HTML renderer escapes them and the XML renderer drops what XML 1.0 forbids.

Who asks: DidFilterSet (the DIDs list, its export and dids_get alike), the API's
parameters, the audit log's filter, the Generate hash tool, scenario files and the
Django admin's query strings (portal.middleware). Django's form fields need nothing
more: CharField refuses a NUL itself, and form bodies are decoded with replacement
characters, so they never hold a lone surrogate.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")

# The words of a refusal where a field has no contract text of its own.
NOT_TEXT_MESSAGE = "This is not valid text (it contains a NUL character or a lone surrogate)."


def is_valid_text(value: str) -> bool:
    """True when `value` may reach the database and the renderers as it is."""
    return _NOT_TEXT.search(value) is None


def validate_text(value: object) -> None:
    """A form or model field validator for the same rule."""
    if isinstance(value, str) and not is_valid_text(value):
        raise ValidationError(NOT_TEXT_MESSAGE, code="invalid_text")
