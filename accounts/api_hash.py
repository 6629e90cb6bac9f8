"""The MOR API hash: SHA1 over the hashed parameters' values and the API secret key.

SHA1 is weak, but the legacy contract fixes it: existing MOR integrations send
exactly this hash. It is compared in constant time. This module is the only
place that builds the hash, for the API's authentication and for the
*Generate hash* tool alike, so the tool always shows what the API accepts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from .models import ApiSettings, User

# The legacy hashed parameters, in the order in which their values enter the hash.
HASH_KEYS: tuple[str, ...] = tuple(
    line.strip()
    for line in (Path(__file__).with_name("hash_keys.txt")).read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def hashed_parameters(params: Mapping[str, object]) -> list[tuple[str, str]]:
    """The (name, value) pairs that enter the hash, in order.

    A legacy hashed parameter counts only when present with a non-empty value.
    """
    pairs = []
    for key in HASH_KEYS:
        value = params.get(key)
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        if text != "":
            pairs.append((key, text))
    return pairs


def api_hash(params: Mapping[str, object], secret: str) -> str:
    """Lower-case hex SHA1 of the hashed parameters' values followed by the secret."""
    hash_string = "".join(value for _, value in hashed_parameters(params)) + secret
    return hashlib.sha1(hash_string.encode("utf-8")).hexdigest()  # noqa: S324 (legacy contract)


def hash_is_valid(given: str | None, params: Mapping[str, object], secret: str) -> bool:
    """Constant-time check of a client's hash; upper-case hex is accepted."""
    if not given:
        return False
    expected = api_hash(params, secret)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def settings_chain(account: User) -> list[ApiSettings]:
    """The API settings that govern the account: the system's, then its reseller's if any.

    Every one must allow the API; the last one's secret and hash checking apply.
    Unsaved defaults (everything off, no secret) stand in for missing rows.
    """
    chain = [ApiSettings.objects.system()]
    owner = account.settings_owner
    if owner is not None:
        chain.append(ApiSettings.objects.for_reseller(owner))
    return chain
