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
from dataclasses import dataclass
from pathlib import Path

from django.db.models import QuerySet, Subquery

from .models import ApiSettings, User

# The legacy hashed parameters, in the order in which their values enter the hash.
HASH_KEYS: tuple[str, ...] = tuple(
    line.strip()
    for line in (Path(__file__).with_name("hash_keys.txt")).read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


@dataclass(frozen=True)
class HashedParameters:
    """Which parameters of a request enter a method's hash, in order.

    Each slot is one parameter name, or alternatives of which the first present one
    counts (`did_subscription_stop` hashes `dids_id`, else `did_id`). Every API method
    declares its own (beside the method, see `dids.api.methods`); this class is the
    only code that applies them, so no method is a branch in the hash code.
    """

    slots: tuple[tuple[str, ...], ...]

    @classmethod
    def legacy_order(cls, *own: str) -> HashedParameters:
        """The legacy rule (dids_get and the older write methods): every parameter of
        hash_keys.txt, in that file's order, plus the method's own hashed parameters
        (kept where the file has them, else appended)."""
        names = HASH_KEYS + tuple(name for name in own if name not in HASH_KEYS)
        return cls(tuple((name,) for name in names))

    @classmethod
    def fixed(cls, *slots: str | tuple[str, ...]) -> HashedParameters:
        """Only these parameters, whatever else the request carries."""
        return cls(tuple((slot,) if isinstance(slot, str) else tuple(slot) for slot in slots))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for slot in self.slots for name in slot)

    def pairs(self, params: Mapping[str, object]) -> list[tuple[str, str]]:
        """The (name, value) pairs that enter the hash, in order.

        A parameter counts only when present with a non-empty value, exactly as
        received (not trimmed).
        """
        pairs = []
        for slot in self.slots:
            for name in slot:
                value = params.get(name)
                if value is None:
                    continue
                text = value if isinstance(value, str) else str(value)
                if text != "":
                    pairs.append((name, text))
                    break
        return pairs


# dids_get's rule, and the default for a caller that names no rule.
LEGACY_ORDER = HashedParameters.legacy_order()


def hashed_parameters(
    params: Mapping[str, object], rule: HashedParameters = LEGACY_ORDER
) -> list[tuple[str, str]]:
    """The (name, value) pairs that enter the hash under `rule`, in order."""
    return rule.pairs(params)


def api_hash(
    params: Mapping[str, object], secret: str, rule: HashedParameters = LEGACY_ORDER
) -> str:
    """Lower-case hex SHA1 of the hashed parameters' values followed by the secret."""
    hash_string = "".join(value for _, value in rule.pairs(params)) + secret
    return hashlib.sha1(hash_string.encode("utf-8")).hexdigest()  # noqa: S324 (legacy contract)


def hash_is_valid(
    given: str | None,
    params: Mapping[str, object],
    secret: str,
    rule: HashedParameters = LEGACY_ORDER,
) -> bool:
    """Constant-time check of a client's hash; upper-case hex is accepted."""
    if not given:
        return False
    expected = api_hash(params, secret, rule)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


# The system's settings as columns of an account's row: what every API request reads
# with the account, in the same query (with_settings_chain). A query less per request.
_SYSTEM_COLUMNS = {
    f"system_api_{name}": name
    for name in ("id", "allow_api", "allow_get_api", "api_secret_key", "disable_hash_checking")
}


_SETTINGS_FIELDS = [field.attname for field in ApiSettings._meta.concrete_fields]


def with_settings_chain(accounts: QuerySet[User]) -> QuerySet[User]:
    """The accounts with what settings_chain needs read along: the system's API settings
    (columns of each row) and the reseller's (its own or its owner's, joined)."""
    system = ApiSettings.objects.filter(reseller__isnull=True)
    return accounts.select_related("api_settings", "owner__api_settings").annotate(
        **{column: Subquery(system.values(name)[:1]) for column, name in _SYSTEM_COLUMNS.items()}
    )


def _read_with(account: User, owner: User | None) -> list[ApiSettings]:
    """The chain from what with_settings_chain read with the account: no query."""
    if account.system_api_id is None:
        system = ApiSettings(reseller=None)
    else:
        read = {name: getattr(account, column) for column, name in _SYSTEM_COLUMNS.items()}
        # from_db takes every field's value in the model's order (reseller_id: None).
        system = ApiSettings.from_db(
            account._state.db, _SETTINGS_FIELDS, [read.get(f) for f in _SETTINGS_FIELDS]
        )
    if owner is None:
        return [system]
    try:
        own = owner.api_settings
    except ApiSettings.DoesNotExist:
        own = ApiSettings(reseller=owner)
    return [system, own]


def settings_chain(account: User) -> list[ApiSettings]:
    """The API settings that govern the account: the system's, then its reseller's if any.

    Every one must allow the API; the last one's secret and hash checking apply.
    Unsaved defaults (everything off, no secret) stand in for missing rows. An account
    read through with_settings_chain brings them along; any other costs a query each.
    """
    owner = account.settings_owner
    if hasattr(account, "system_api_id"):
        return _read_with(account, owner)
    chain = [ApiSettings.objects.system()]
    if owner is not None:
        chain.append(ApiSettings.objects.for_reseller(owner))
    return chain
