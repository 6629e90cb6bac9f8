"""`did_details_update` (did_methods.md §11): a DID's details, and with `did_user_id` a
reservation, a hand-over to a reseller, or making it free.

All or nothing (§11.3): every parameter is checked, on the locked row, before the
services write anything; the `did_user_id` action and the fields are then one
service call, one transaction, one history entry.
"""

from __future__ import annotations

from accounts.api_hash import HashedParameters
from accounts.authentication import ApiRefusal
from accounts.models import User
from dids.models import Did, Provider

from .base import (
    COMMENT_INVALID,
    COMMENT_MAX,
    COMMENT_NOT_FOR_RESELLERS,
    CUSTOM_SIP_HEADER_INVALID,
    CUSTOM_SIP_HEADER_MAX,
    DID_NOT_FOUND,
    DID_TERMINATED,
    NOT_AUTHORIZED_FUNCTIONALITY,
    PROVIDER_NOT_AUTHORIZED,
    PROVIDER_NOT_FOUND,
    RESELLER_COMMENT_INVALID,
    USER_NOT_FOUND,
    Call,
    Success,
    WriteMethod,
    acts_for_system,
    refuse,
    refuse_accountants_without_write,
    refuse_end_users,
)
from .values import MAX_INT, identifier, is_one_line, is_text, whole_number

DID_ALREADY_ASSIGNED = "DID is already assigned"
CALL_LIMIT_INVALID = "Call limit is incorrect format"
GRACE_TIME_NOT_FOR_RESELLERS = "Invalid grace_time: not allowed for resellers"
GRACE_TIME_INVALID = "Invalid grace_time: expected a whole number from 0 to 2147483647"
LANGUAGE_INVALID = "Invalid language: expected one line of text of at most 50 characters"
LANGUAGE_MAX = 50
MAKE_FREE = "-1"
UNKNOWN_HOLDER = object()


def valid_target(account: User | None, caller: User) -> bool:
    """§11.2: an existing, enabled account; for a reseller caller one of its own users."""
    if account is None or not account.is_active:
        return False
    if acts_for_system(caller):
        return True
    return account.is_end_user and account.owner_id == caller.pk


def _unused(did: Did) -> bool:
    """Free without end user, device or dial plan: a DID that may be reserved or handed on."""
    return (
        did.status == Did.Status.FREE
        and did.user_id is None
        and did.device_id is None
        and did.dial_plan_id is None
    )


class DidDetailsUpdate(WriteMethod):
    name = "did_details_update"
    hashed_parameters = HashedParameters.legacy_order("did_id")
    success_text = "DID details successfully updated"
    failure_text = "DID was not updated"
    refusal_texts = {
        "not_found": DID_NOT_FOUND,
        "terminated": DID_TERMINATED,
        "status": DID_ALREADY_ASSIGNED,
        "target": DID_ALREADY_ASSIGNED,
    }
    invalid_texts = {
        "call_limit": CALL_LIMIT_INVALID,
        "grace_time": GRACE_TIME_INVALID,
        "language": LANGUAGE_INVALID,
        "provider": PROVIDER_NOT_AUTHORIZED,
        "comment": COMMENT_INVALID,
        "reseller_comment": RESELLER_COMMENT_INVALID,
        "custom_sip_header": CUSTOM_SIP_HEADER_INVALID,
    }

    def run(self, call: Call) -> Success:
        caller, params = call.caller, call.params
        refuse_end_users(caller)  # 7
        refuse_accountants_without_write(caller, NOT_AUTHORIZED_FUNCTIONALITY)  # 8
        did_id = identifier(params.get("did_id"))
        if did_id is None:  # 9 (no such DID, or not the reseller's: the services say so)
            raise refuse(DID_NOT_FOUND)

        # Lookups once, before the lock; what they mean for this DID is decided on it.
        user_value = params.get("did_user_id")
        make_free = user_value == MAKE_FREE
        target = None
        if user_value is not None and not make_free:
            target_id = identifier(user_value)
            target = User.objects.filter(pk=target_id).first() if target_id else None
        provider_value = params.get("did_provider_id")
        provider = None
        if provider_value is not None:
            provider_id = identifier(provider_value)
            provider = Provider.objects.filter(pk=provider_id).first() if provider_id else None

        # The fields' values depend on the parameters alone: worked out before the lock
        # (None if one is refused, which the locked check below then says in order).
        try:
            fields = self._fields(call, provider_value, provider, holder=UNKNOWN_HOLDER)
        except ApiRefusal:
            fields = None

        def decide(did: Did) -> str | None:
            action = None
            if user_value is not None and not make_free:
                if not valid_target(target, caller):  # 10
                    raise refuse(USER_NOT_FOUND)
                if did.status == Did.Status.TERMINATED:  # 11
                    raise refuse(DID_TERMINATED)
                action = self._taking(did, target)  # 12
            elif make_free:
                action = self._freeing(did, caller)
            self._fields(call, provider_value, provider, holder=did.reseller_id)  # 13-24
            return action

        self.apply(call, did_id, decide, target=target, fields=fields)
        return Success(self.success_text)

    @staticmethod
    def _taking(did: Did, target: User) -> str | None:
        """§11.2's table for a target: hand to a reseller, or reserve for an account."""
        if target.is_reseller:
            if did.reseller_id == target.pk:
                return None  # already held by that reseller: nothing changes
            if _unused(did) and did.reseller_id is None:
                return "hand_to_reseller"
            raise refuse(DID_ALREADY_ASSIGNED)
        if did.user_id == target.pk and did.status in (Did.Status.RESERVED, Did.Status.ACTIVE):
            return None  # already the target's: nothing changes
        if _unused(did) and (did.reseller_id is None or target.owner_id == did.reseller_id):
            return "reserve"
        raise refuse(DID_ALREADY_ASSIGNED)

    @staticmethod
    def _freeing(did: Did, caller: User) -> str | None:
        """`did_user_id=-1`, from any status: make free; a free DID that a reseller
        holds is taken back by the operator (its reseller keeps it)."""
        if did.status != Did.Status.FREE:
            return "make_free"
        if did.reseller_id is not None and acts_for_system(caller):
            return "take_back"
        return None

    @staticmethod
    def _fields(
        call: Call, provider_value: object, provider: Provider | None, *, holder: object
    ) -> dict[str, object]:
        """Checks 13-24 in order and the fields they give. `holder` is the reseller
        holding the DID (its id, or None), for check 18; UNKNOWN_HOLDER skips that check."""
        caller, params = call.caller, call.params
        fields: dict[str, object] = {}
        call_limit = params.get("call_limit")
        if call_limit is not None:
            number = whole_number(call_limit, maximum=MAX_INT)
            if number is None:  # 13
                raise refuse(CALL_LIMIT_INVALID)
            fields["call_limit"] = number
        grace_time = params.get("grace_time")
        if grace_time is not None:
            if caller.is_reseller:  # 14
                raise refuse(GRACE_TIME_NOT_FOR_RESELLERS)
            number = whole_number(grace_time, maximum=MAX_INT)
            if number is None:  # 15
                raise refuse(GRACE_TIME_INVALID)
            fields["grace_time"] = number
        language = params.get("language")
        if language is not None:
            if not is_one_line(language, max_length=LANGUAGE_MAX):  # 16
                raise refuse(LANGUAGE_INVALID)
            fields["language"] = language
        if provider_value is not None:
            if provider is None:  # 17
                raise refuse(PROVIDER_NOT_FOUND)
            if holder is UNKNOWN_HOLDER:
                allowed = True
            elif acts_for_system(caller):
                # The system's providers, or those of the reseller holding the DID now.
                allowed = provider.owner_id is None or (
                    holder is not None and provider.owner_id == holder
                )
            else:
                allowed = caller.own_providers and provider.owner_id == caller.pk
            if not allowed:  # 18
                raise refuse(PROVIDER_NOT_AUTHORIZED)
            fields["provider"] = provider
        comment = params.clearing("comment")
        if caller.is_reseller:
            if comment not in (None, ""):  # 19
                raise refuse(COMMENT_NOT_FOR_RESELLERS)
            comment = None  # a reseller's empty comment= is ignored (§6.5)
        if comment is not None:
            if not is_text(comment, max_length=COMMENT_MAX):  # 20
                raise refuse(COMMENT_INVALID)
            fields["comment"] = comment
        reseller_comment = params.clearing("reseller_comment")
        if reseller_comment is not None:
            if not is_text(reseller_comment, max_length=COMMENT_MAX):  # 21
                raise refuse(RESELLER_COMMENT_INVALID)
            fields["reseller_comment"] = reseller_comment
        header = params.clearing("custom_sip_header")
        if header is not None:
            if not is_one_line(header, max_length=CUSTOM_SIP_HEADER_MAX):  # 22
                raise refuse(CUSTOM_SIP_HEADER_INVALID)
            fields["custom_sip_header"] = header
        # 23, 24: refused, not ignored: an integration that sends them expects the DID
        # to work only in that window (§11.1).
        if params.given("active_from"):
            raise refuse("Invalid active_from: not supported")
        if params.given("active_till"):
            raise refuse("Invalid active_till: not supported")
        return fields
