"""What the DID write methods share (did_methods.md): the method shape, the way a
method applies a transition through the lifecycle services, and the texts that
several methods use.

A method is a `WriteMethod`: its names, its hashed parameters (declared beside
it), its texts and `run(call)`, which performs the method's own checks (7…) in
the contract's order and asks `dids.services` to write. Nothing here writes a
DID: the services lock the row, re-validate the transition and record history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import DatabaseError, OperationalError

from accounts.api_hash import HashedParameters
from accounts.authentication import ACCESS_DENIED, ApiRefusal
from accounts.models import Level, User
from dids import services
from dids.models import Device, Did, DidHistory, Provider

from .values import Parameters

logger = logging.getLogger("dids.api")

# Texts that more than one method sends (verbatim, legacy spelling kept).
NOT_AUTHORIZED_TO_MANAGE = "You are not authorized to manage DIDs"
NOT_AUTHORIZED_FUNCTIONALITY = "You are not authorized to use this functionality"
DID_NOT_FOUND = "DID was not found"
DID_TERMINATED = "DID is terminated"
DID_NOT_ON_DEVICE = "DID is not assigned to Device"
DID_NOT_SAVED = "DID was not saved"
PROVIDER_NOT_FOUND = "Provider was not found"
PROVIDER_NOT_AUTHORIZED = "Your are not authorized to use this Provider"
USER_NOT_FOUND = "User was not found"
COMMENT_NOT_FOR_RESELLERS = "Invalid comment: not allowed for resellers"
COMMENT_INVALID = "Invalid comment: expected text of at most 65535 characters"
RESELLER_COMMENT_INVALID = "Invalid reseller_comment: expected text of at most 65535 characters"
CUSTOM_SIP_HEADER_INVALID = (
    "Invalid custom_sip_header: expected one line of text of at most 255 characters"
)
COMMENT_MAX = 65535
CUSTOM_SIP_HEADER_MAX = 255

# A transaction that lost a deadlock or a serialization race is tried again this often.
ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def refuse(text: str) -> ApiRefusal:
    return ApiRefusal(text)


# An XML element of a response: a tag and its text, or a tag and its child elements.
Element = tuple[str, "str | tuple[Element, ...]"]


@dataclass(frozen=True)
class Success:
    """A method's success answer: its text and the elements after `</status>`;
    `test_extra` replaces them with `test=1` where the method shows more then (None:
    the same). `nested` is did_delete's `<status><status>` form."""

    text: str
    extra: tuple[Element, ...] = ()
    test_extra: tuple[Element, ...] | None = None
    nested: bool = False


@dataclass
class Call:
    """One request to a write method, authenticated and permitted (checks 1-6 passed)."""

    caller: User
    params: Parameters
    address: str
    test: bool


# --- Who the caller is ----------------------------------------------------------


def writes_dids(caller: User) -> bool:
    """Admins and resellers; accountants only with *Manage DIDs* write (§5.1)."""
    if caller.is_accountant:
        return caller.accountant_right("manage_dids") == Level.WRITE
    return caller.is_admin or caller.is_reseller


def acts_for_system(caller: User) -> bool:
    """§5.2: admins and accountants act for the system; a reseller for itself."""
    return caller.is_admin or caller.is_accountant


def account_in_scope(account: User, caller: User) -> bool:
    """§5.2: every account but a reseller's user is the system's; a reseller's users are its."""
    owned_by_reseller = account.is_end_user and account.owner_id is not None
    if acts_for_system(caller):
        return not owned_by_reseller
    return owned_by_reseller and account.owner_id == caller.pk


def device_in_scope(device: Device, caller: User) -> bool:
    """§5.2: a device whose user is in the caller's scope and not disabled."""
    return device.user.is_active and account_in_scope(device.user, caller)


def provider_in_scope(provider: Provider, caller: User) -> bool:
    """§5.2: the system's own providers; a Reseller PRO's own providers."""
    if acts_for_system(caller):
        return provider.owner_id is None
    return caller.own_providers and provider.owner_id == caller.pk


# --- The method ---------------------------------------------------------------


class WriteMethod:
    """One write method of did_methods.md §1."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    hashed_parameters: ClassVar[HashedParameters]
    success_text: ClassVar[str]
    failure_text: ClassVar[str]
    # The text of a service refusal, by its code, where the contract has a matching
    # one; any other refusal is the failure text (§7.6).
    refusal_texts: ClassVar[Mapping[str, str]] = {"not_found": DID_NOT_FOUND}
    # The text of an "invalid" refusal, by the field at fault.
    invalid_texts: ClassVar[Mapping[str, str]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def run(self, call: Call) -> Success:
        raise NotImplementedError

    # --- applying a transition through the services -------------------------------

    def apply(
        self,
        call: Call,
        did_id: int,
        decide: Callable[[Did], str | None],
        *,
        target: Any = None,
        fields: Mapping[str, object] | None = None,
    ) -> Did | None:
        """Ask the services to change one DID; the method's checks run on the locked row.

        The services lock the row (a DID the caller may not manage is `not_found`),
        then call `decide(locked_did)`: it runs the method's state-dependent checks in
        the contract's order, raising the contract's refusal, and names the transition
        to take (None: none, only `fields`). The services then validate that
        transition against the lifecycle table, apply it and `fields`, and record one
        history entry, all in the same transaction.
        """
        for _attempt in range(ATTEMPTS):
            try:
                return services.did_apply(
                    did_id=did_id,
                    action=None,
                    target=target,
                    fields=fields or None,
                    actor=call.caller,
                    source=DidHistory.Source.API,
                    address=call.address,
                    precheck=lambda locked: decide(locked) or "",
                )
            except services.DidActionRefused as refusal:
                raise refuse(self.refusal_text(refusal, did_id)) from None
            except OperationalError as error:
                if _retryable(error):
                    continue
                self._log_failure(call, did_id)
                raise refuse(self.failure_text) from None
            except DatabaseError:
                self._log_failure(call, did_id)
                raise refuse(self.failure_text) from None
        self._log_failure(call, did_id)
        raise refuse(self.failure_text)

    def refusal_text(self, refusal: services.DidActionRefused, did_id: int | None) -> str:
        if refusal.code == "invalid" and refusal.field in self.invalid_texts:
            return self.invalid_texts[refusal.field]
        return self.refusal_texts.get(refusal.code, self.failure_text)

    def _log_failure(self, call: Call, did_id: int | None) -> None:
        logger.exception(
            "API %s failed to write (DID %s, by %s)", self.name, did_id, call.caller.username
        )


def _retryable(error: OperationalError) -> bool:
    """A deadlock or a serialization failure: the same request may succeed on a retry."""
    return getattr(error.__cause__, "sqlstate", None) in _RETRYABLE_SQLSTATES


# --- Checks that several methods share ------------------------------------------


def refuse_end_users(caller: User) -> None:
    """Check 7 of every method: a user may call no write method."""
    if caller.is_end_user:
        raise refuse(ACCESS_DENIED)


def refuse_accountants_without_write(caller: User, text: str) -> None:
    """The accountant's check (§5.1): *Manage DIDs* write, else the method's text."""
    if caller.is_accountant and not writes_dids(caller):
        raise refuse(text)
