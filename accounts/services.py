"""Writes to accounts, groups and settings, and the sign-in lockout.

Every write is a typed `<entity>_<action>(*, …)` function: it validates (raising
ValidationError keyed by field name, changing nothing), locks what it changes,
saves, and records an audit entry, all in one transaction. Views and the Django
admin call these; they never save these models themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import throttle
from .audit import (
    Snapshot,
    accountant_group_snapshot,
    api_permission_group_snapshot,
    api_settings_snapshot,
    audit_record,
    creation_changes,
    snapshot_changes,
    system_settings_snapshot,
    user_snapshot,
)
from .models import (
    ACCOUNTANT_RIGHTS,
    API_METHODS,
    AccountantGroup,
    ApiPermissionGroup,
    ApiSettings,
    AuditEntry,
    Level,
    MethodRight,
    SystemSettings,
    User,
)

logger = logging.getLogger("accounts.security")

# --- Accounts -----------------------------------------------------------------

# The fields that the administration pages may change on an account.
EDITABLE_USER_FIELDS: tuple[str, ...] = (
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "owner",
    "accountant_group",
    "api_permission_group",
    "api_restricted",
    "own_providers",
    "is_system_administrator",
    "is_active",
)


class _Errors:
    """Collects field errors so that a form can show every one of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def absorb(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add(field, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _validate_account(user: User, *, by: User, previous: User | None) -> None:
    errors = _Errors()
    try:
        # The database constraints restate these rules; Model.clean() words them for people.
        user.full_clean(
            exclude=["password", "last_login", "date_joined"], validate_constraints=False
        )
    except ValidationError as error:
        errors.absorb(error)
    if user.own_providers and not user.is_reseller:
        errors.add("own_providers", "Only resellers can be Reseller PRO.")
    if previous is not None:
        if (
            previous.is_reseller
            and not user.is_reseller
            and User.objects.filter(owner_id=previous.pk).exists()
        ):
            errors.add("role", "This reseller owns accounts: give them another owner first.")
        if previous.is_system_administrator and not user.is_system_administrator:
            errors.add(
                "is_system_administrator",
                "Make another admin the system administrator instead.",
            )
        # Guard against an admin locking themselves out of the administration pages.
        if previous.pk == by.pk:
            if not user.is_admin:
                errors.add("role", "You cannot take away your own admin role.")
            if not user.is_active:
                errors.add("is_active", "You cannot deactivate your own account.")
    errors.raise_if_any()


def _system_administrator_mutex() -> None:
    """Serialise moves of the designation: whoever moves it next sees the last move.

    The system settings row is the lock; it is taken before any account row, in
    every path, so that two moves cannot deadlock on each other's accounts.
    """
    SystemSettings.load()
    SystemSettings.objects.select_for_update().get(pk=1)


def _take_system_administrator(*, by: User, user: User) -> None:
    """Move the system administrator designation to `user` (the caller saves `user`)."""
    for holder in User.objects.select_for_update().filter(is_system_administrator=True):
        if holder.pk == user.pk:
            continue
        before = user_snapshot(holder)
        holder.is_system_administrator = False
        holder.save(update_fields=["is_system_administrator"])
        audit_record(
            by=by,
            action=AuditEntry.Action.UPDATE,
            instance=holder,
            changes=snapshot_changes(before, user_snapshot(holder)),
        )


def _save_account(user: User) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Only a concurrent change can get here: validation ran inside our transaction.
        raise ValidationError(
            "Someone else changed these accounts at the same time; please try again."
        ) from error


def _new_account_errors(user: User, *, by: User, password: str | None) -> _Errors:
    errors = _Errors()
    try:
        _validate_account(user, by=by, previous=None)
    except ValidationError as error:
        errors.absorb(error)
    if password is not None:
        try:
            password_validation.validate_password(password, user=user)
        except ValidationError as error:
            for message in error.messages:
                errors.add("password", message)
    return errors


def user_create_check(*, by: User, password: str | None, **fields: object) -> None:
    """Raise every reason why `user_create` would refuse these values, writing nothing.

    For a form that is invalid on its own (e.g. the two passwords differ): the person
    then sees all that is wrong in one round, not the account's rules only after the
    passwords match. `password=None` skips the password validators.
    """
    _new_account_errors(User(**fields), by=by, password=password).raise_if_any()


@transaction.atomic
def user_create(
    *,
    by: User,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    owner: User | None = None,
    accountant_group: AccountantGroup | None = None,
    api_permission_group: ApiPermissionGroup | None = None,
    api_restricted: bool = False,
    own_providers: bool = False,
    is_system_administrator: bool = False,
    is_active: bool = True,
) -> User:
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        owner=owner,
        accountant_group=accountant_group,
        api_permission_group=api_permission_group,
        api_restricted=api_restricted,
        own_providers=own_providers,
        is_system_administrator=is_system_administrator,
        is_active=is_active,
    )
    _new_account_errors(user, by=by, password=password).raise_if_any()
    if is_system_administrator:
        _system_administrator_mutex()
        _take_system_administrator(by=by, user=user)
    user.set_password(password)
    _save_account(user)
    audit_record(
        by=by,
        action=AuditEntry.Action.CREATE,
        instance=user,
        changes=[
            *creation_changes(user_snapshot(user)),
            {"field": "Password", "note": "password set"},
        ],
    )
    return user


@transaction.atomic
def user_update(*, by: User, user: User, fields: Mapping[str, object]) -> User:
    """Change the given fields of an account (names from EDITABLE_USER_FIELDS)."""
    unknown = set(fields) - set(EDITABLE_USER_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    if fields.get("is_system_administrator"):
        _system_administrator_mutex()
    locked = User.objects.select_for_update().get(pk=user.pk)
    previous = User.objects.get(pk=user.pk)
    before = user_snapshot(locked)
    for name, value in fields.items():
        setattr(locked, name, value)
    _validate_account(locked, by=by, previous=previous)
    if locked.is_system_administrator and not previous.is_system_administrator:
        _take_system_administrator(by=by, user=locked)
    _save_account(locked)
    audit_record(
        by=by,
        action=AuditEntry.Action.UPDATE,
        instance=locked,
        changes=snapshot_changes(before, user_snapshot(locked)),
    )
    return locked


@transaction.atomic
def user_set_password(*, by: User, user: User, password: str) -> None:
    locked = User.objects.select_for_update().get(pk=user.pk)
    try:
        password_validation.validate_password(password, user=locked)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    locked.set_password(password)
    locked.save(update_fields=["password"])
    user.password = locked.password
    audit_record(
        by=by,
        action=AuditEntry.Action.UPDATE,
        instance=locked,
        changes=[{"field": "Password", "note": "password changed"}],
    )


# --- Groups -----------------------------------------------------------------


def _levels(
    given: Mapping[str, str], registry: Mapping[str, str], choices: type, default: str
) -> dict[str, str]:
    """Every name in the registry with a valid level; anything else is refused."""
    unknown = set(given) - set(registry)
    if unknown:
        raise ValidationError(f"Unknown: {', '.join(sorted(unknown))}.")
    levels: dict[str, str] = {}
    for name in registry:
        level = given.get(name, default)
        if level not in choices.values:
            raise ValidationError({name: f"Select one of {', '.join(choices.values)}."})
        levels[name] = level
    return levels


@dataclass(frozen=True)
class _GroupKind:
    """What differs between the two kinds of group: where the levels live and their words."""

    model: type[AccountantGroup] | type[ApiPermissionGroup]
    field: str
    registry: Mapping[str, str]
    choices: type
    default: str
    snapshot: Callable[[Any], Snapshot]


ACCOUNTANT_GROUPS = _GroupKind(
    AccountantGroup, "rights", ACCOUNTANT_RIGHTS, Level, Level.NONE, accountant_group_snapshot
)
API_PERMISSION_GROUPS = _GroupKind(
    ApiPermissionGroup,
    "methods",
    API_METHODS,
    MethodRight,
    MethodRight.DISABLED,
    api_permission_group_snapshot,
)


def _group_save(
    kind: _GroupKind,
    *,
    by: User,
    group: AccountantGroup | ApiPermissionGroup | None,
    name: str,
    levels: Mapping[str, str],
) -> AccountantGroup | ApiPermissionGroup:
    """Create (group None) or update a group of either kind, validated and audited."""
    if group is None:
        instance, before = kind.model(), None
    else:
        instance = kind.model.objects.select_for_update().get(pk=group.pk)
        before = kind.snapshot(instance)
    instance.name = name
    setattr(instance, kind.field, _levels(levels, kind.registry, kind.choices, kind.default))
    instance.full_clean()
    instance.save()
    after = kind.snapshot(instance)
    audit_record(
        by=by,
        action=AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE,
        instance=instance,
        changes=creation_changes(after) if before is None else snapshot_changes(before, after),
    )
    return instance


def _group_delete(kind: _GroupKind, *, by: User, group: AccountantGroup | ApiPermissionGroup):
    locked = kind.model.objects.select_for_update().get(pk=group.pk)
    if locked.members.exists():
        raise ValidationError(
            "This group has members: move them to another group before deleting it."
        )
    changes = [
        {"field": label, "old": value, "new": "—"} for label, value in kind.snapshot(locked).items()
    ]
    audit_record(by=by, action=AuditEntry.Action.DELETE, instance=locked, changes=changes)
    locked.delete()


@transaction.atomic
def accountant_group_create(*, by: User, name: str, rights: Mapping[str, str]) -> AccountantGroup:
    return _group_save(ACCOUNTANT_GROUPS, by=by, group=None, name=name, levels=rights)


@transaction.atomic
def accountant_group_update(
    *, by: User, group: AccountantGroup, name: str, rights: Mapping[str, str]
) -> AccountantGroup:
    return _group_save(ACCOUNTANT_GROUPS, by=by, group=group, name=name, levels=rights)


@transaction.atomic
def accountant_group_delete(*, by: User, group: AccountantGroup) -> None:
    _group_delete(ACCOUNTANT_GROUPS, by=by, group=group)


@transaction.atomic
def api_permission_group_create(
    *, by: User, name: str, methods: Mapping[str, str]
) -> ApiPermissionGroup:
    return _group_save(API_PERMISSION_GROUPS, by=by, group=None, name=name, levels=methods)


@transaction.atomic
def api_permission_group_update(
    *, by: User, group: ApiPermissionGroup, name: str, methods: Mapping[str, str]
) -> ApiPermissionGroup:
    return _group_save(API_PERMISSION_GROUPS, by=by, group=group, name=name, levels=methods)


@transaction.atomic
def api_permission_group_delete(*, by: User, group: ApiPermissionGroup) -> None:
    _group_delete(API_PERMISSION_GROUPS, by=by, group=group)


# --- Settings ---------------------------------------------------------------


def generate_api_secret() -> str:
    """A strong secret for the API hash: 256 bits, URL-safe so that it pastes anywhere."""
    return secrets.token_urlsafe(32)


ALLOW_API_NEEDS_SECRET = "Allow API cannot be switched on without an API Secret Key."  # noqa: S105


@transaction.atomic
def api_settings_update(
    *,
    by: User,
    reseller: User | None,
    allow_api: bool,
    disable_hash_checking: bool,
    allow_get_api: bool | None = None,
    new_secret: str | None = None,
    remove_secret: bool = False,
) -> ApiSettings:
    """Save the system's (reseller None) or a reseller's API settings.

    `new_secret` None keeps the stored secret; `remove_secret` clears it. Allow GET
    API exists only in the system settings.
    """
    if reseller is not None and allow_get_api is not None:
        raise ValueError("Allow GET API is a system setting only.")
    if new_secret is not None and remove_secret:
        raise ValidationError({"remove_secret": "Either set a new secret key or remove it."})
    if reseller is not None and not reseller.is_reseller:
        raise ValidationError("Only resellers have API settings of their own.")
    api_settings = ApiSettings.objects.select_for_update().of(reseller)
    stored = api_settings.pk is not None  # else the unsaved defaults: a creation
    before = api_settings_snapshot(api_settings)
    api_settings.allow_api = allow_api
    api_settings.disable_hash_checking = disable_hash_checking
    if allow_get_api is not None:
        api_settings.allow_get_api = allow_get_api
    if remove_secret:
        api_settings.api_secret_key = ""
    elif new_secret is not None:
        if not new_secret:
            raise ValidationError({"new_secret": "The secret key cannot be empty."})
        api_settings.api_secret_key = new_secret
    if api_settings.allow_api and not api_settings.api_secret_key:
        raise ValidationError({"allow_api": ALLOW_API_NEEDS_SECRET})
    api_settings.full_clean(exclude=["reseller"], validate_constraints=False)
    api_settings.save()
    after = api_settings_snapshot(api_settings)
    audit_record(
        by=by,
        action=AuditEntry.Action.UPDATE if stored else AuditEntry.Action.CREATE,
        instance=api_settings,
        changes=(snapshot_changes(before, after) if stored else creation_changes(after)),
    )
    return api_settings


@transaction.atomic
def system_settings_update(
    *,
    by: User,
    days_for_did_close: int,
    resellers_can_add_their_own_dids: bool | None = None,
) -> SystemSettings:
    """Save the system settings; `resellers_can_add_their_own_dids` None keeps it."""
    SystemSettings.load()  # the row exists before it is locked
    locked = SystemSettings.objects.select_for_update().get(pk=1)
    before = system_settings_snapshot(locked)
    locked.days_for_did_close = days_for_did_close
    if resellers_can_add_their_own_dids is not None:
        locked.resellers_can_add_their_own_dids = resellers_can_add_their_own_dids
    locked.full_clean(validate_constraints=False)
    locked.save()
    audit_record(
        by=by,
        action=AuditEntry.Action.UPDATE,
        instance=locked,
        changes=snapshot_changes(before, system_settings_snapshot(locked)),
    )
    return locked


# --- Sign-in lockout --------------------------------------------------------
# Failed sign-ins are counted in the cache (shared between processes when CACHE_URL
# points to Redis), per client address and per account, with accounts.throttle: an
# attempt takes its slot atomically *before* the password is checked, so parallel
# attempts cannot get more than the limit checked. A browser that signed in as an
# account carries a signed device cookie for it (OWASP's "device cookies"): for it
# the account's own counter is replaced by one per device cookie, so that nobody can
# lock an account's people out by failing its sign-in from elsewhere.

DEVICE_COOKIE_NAME = "portal_device"
DEVICE_COOKIE_SALT = "accounts.sign-in.device-cookie"
DEVICE_COOKIE_AGE = 30 * 24 * 60 * 60  # seconds


def _limit_and_window() -> tuple[int, int]:
    return (
        int(getattr(settings, "LOGIN_FAILURE_LIMIT", 5)),
        max(1, int(getattr(settings, "LOGIN_FAILURE_WINDOW", 900))),
    )


def device_cookie_issue(*, username: str) -> str:
    """A new device cookie value for a browser that just signed in as `username`."""
    return signing.dumps({"u": username, "n": secrets.token_urlsafe(16)}, salt=DEVICE_COOKIE_SALT)


def device_cookie_nonce(value: str | None, *, username: str) -> str | None:
    """The device cookie's own id, when it is valid (signed by us, not expired) and was
    issued to `username`; None otherwise."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return None
    issued_to = data.get("u")
    if not isinstance(issued_to, str) or not hmac.compare_digest(
        issued_to.encode("utf-8", "replace"), username.encode("utf-8", "replace")
    ):
        return None
    return data["n"]


def _digest(text: str) -> str:
    # Any text may be typed as a username; cache keys must stay short and plain.
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class LoginCounter:
    key: str
    label: str  # what the log says: the username, the device cookie or the address


def _counters(username: str, address: str, device: str | None) -> list[LoginCounter]:
    if device is None:
        account = LoginCounter(f"login-failures:user:{_digest(username)}", f"username {username!r}")
    else:
        account = LoginCounter(
            f"login-failures:device:{_digest(device)}", f"the device cookie of {username!r}"
        )
    counters = [account]
    if address:
        counters.append(LoginCounter(f"login-failures:addr:{address}", f"address {address}"))
    return counters


@dataclass
class LoginAttempt:
    """A sign-in between `login_attempt_start` and its outcome: the slots it holds."""

    username: str
    address: str
    device: str | None  # the nonce of a valid device cookie for this username
    slots: list[tuple[LoginCounter, throttle.Slot]] = dataclass_field(default_factory=list)
    locked_for: int = 0  # seconds; non-zero when the attempt was refused unchecked

    @property
    def with_device(self) -> str:
        return " with its device cookie" if self.device is not None else ""


def login_attempt_start(*, username: str, address: str, device_cookie: str | None) -> LoginAttempt:
    """Take the attempt's slot in each of its counters, before the password is checked.

    When a counter is full the attempt is refused (`locked_for` > 0), holds nothing,
    and the refusal is logged; the caller must not check the password.
    """
    device = device_cookie_nonce(device_cookie, username=username)
    attempt = LoginAttempt(username=username, address=address, device=device)
    limit, window = _limit_and_window()
    if limit <= 0:
        return attempt
    waits = []
    for counter in _counters(username, address, device):
        taken = throttle.take_slot(counter.key, limit=limit, window=window)
        if isinstance(taken, throttle.Locked):
            waits.append(taken.wait)
        else:
            attempt.slots.append((counter, taken))
    if waits:
        throttle.give_back([slot for _, slot in attempt.slots])
        attempt.slots.clear()
        attempt.locked_for = max(waits)
        logger.warning(
            "Sign-in refused while locked for username %r from %s%s",
            username,
            address or "unknown",
            attempt.with_device,
        )
    return attempt


def login_attempt_failed(attempt: LoginAttempt) -> None:
    """The password was wrong: the slots stay taken (they are the failure's count)."""
    logger.warning(
        "Sign-in failed for username %r from %s%s",
        attempt.username,
        attempt.address or "unknown",
        attempt.with_device,
    )
    limit, window = _limit_and_window()
    for counter, slot in attempt.slots:
        if slot.count == limit:
            logger.warning(
                "Sign-in locked for %s after %d failures (for %d seconds)",
                counter.label,
                slot.count,
                window,
            )


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """A correct password: its slots are given back, and the counter of the account (or
    of the device cookie) it came through starts again; the address keeps its count."""
    throttle.give_back([slot for _, slot in attempt.slots])
    counter = _counters(attempt.username, "", attempt.device)[0]
    throttle.clear(counter.key)


def login_attempt_abandoned(attempt: LoginAttempt) -> None:
    """Neither right nor wrong (the form was incomplete): nothing is counted."""
    throttle.give_back([slot for _, slot in attempt.slots])
