"""`did_create` (did_methods.md §8): one new DID, free, on a provider of the caller's scope."""

from __future__ import annotations

from django.db import DatabaseError

from accounts.api_hash import HashedParameters
from accounts.models import SystemSettings
from dids import services
from dids.models import Did, DidHistory, Provider

from .base import (
    COMMENT_INVALID,
    COMMENT_MAX,
    COMMENT_NOT_FOR_RESELLERS,
    CUSTOM_SIP_HEADER_INVALID,
    CUSTOM_SIP_HEADER_MAX,
    NOT_AUTHORIZED_TO_MANAGE,
    PROVIDER_NOT_AUTHORIZED,
    PROVIDER_NOT_FOUND,
    RESELLER_COMMENT_INVALID,
    Call,
    Success,
    WriteMethod,
    provider_in_scope,
    refuse,
    refuse_end_users,
    writes_dids,
)
from .values import did_number, identifier, is_did_number, is_one_line, is_text

DID_EXISTS = "DID already exists"
INVALID_DID = "Invalid DID specified"


class DidCreate(WriteMethod):
    name = "did_create"
    hashed_parameters = HashedParameters.legacy_order("provider_id", "did")
    success_text = "DID created"
    failure_text = "DID creation failed"
    refusal_texts = {"exists": DID_EXISTS, "not_permitted": NOT_AUTHORIZED_TO_MANAGE}
    invalid_texts = {
        "number": INVALID_DID,
        "provider": PROVIDER_NOT_AUTHORIZED,
        "comment": COMMENT_INVALID,
        "reseller_comment": RESELLER_COMMENT_INVALID,
        "custom_sip_header": CUSTOM_SIP_HEADER_INVALID,
    }

    def run(self, call: Call) -> Success:
        caller, params = call.caller, call.params
        refuse_end_users(caller)  # 7
        provider_id = identifier(params.get("provider_id"))
        provider = Provider.objects.filter(pk=provider_id).first() if provider_id else None
        if provider is None:  # 8
            raise refuse(PROVIDER_NOT_FOUND)
        if not provider_in_scope(provider, caller):  # 9 (before 10: the legacy order)
            raise refuse(PROVIDER_NOT_AUTHORIZED)
        if not writes_dids(caller) or (  # 10
            caller.is_reseller and not SystemSettings.load().resellers_can_add_their_own_dids
        ):
            raise refuse(NOT_AUTHORIZED_TO_MANAGE)
        number = did_number(params.get("did"))
        # 11 before 12, as in the legacy system: an existing number is named as such.
        if number is not None and Did.objects.filter(number=number).exists():
            raise refuse(DID_EXISTS)
        if not is_did_number(number):  # 12
            raise refuse(INVALID_DID)
        comment = params.clearing("comment")
        if caller.is_reseller:
            if comment not in (None, ""):  # 13
                raise refuse(COMMENT_NOT_FOR_RESELLERS)
            comment = None  # a reseller's empty comment= is ignored (§6.5)
        if comment is not None and not is_text(comment, max_length=COMMENT_MAX):  # 14
            raise refuse(COMMENT_INVALID)
        reseller_comment = params.clearing("reseller_comment")
        if reseller_comment is not None and not is_text(reseller_comment, max_length=COMMENT_MAX):
            raise refuse(RESELLER_COMMENT_INVALID)  # 15
        header = params.clearing("custom_sip_header")
        if header is not None and not is_one_line(header, max_length=CUSTOM_SIP_HEADER_MAX):
            raise refuse(CUSTOM_SIP_HEADER_INVALID)  # 16

        fields: dict[str, object] = {"provider": provider}
        for name, value in (
            ("comment", comment),
            ("reseller_comment", reseller_comment),
            ("custom_sip_header", header),
        ):
            if value:  # a new DID's text fields are empty: an empty value changes nothing
                fields[name] = value
        try:
            did = services.did_create(
                number=number,
                actor=caller,
                source=DidHistory.Source.API,
                address=call.address,
                fields=fields,
            )
        except services.DidActionRefused as refusal:
            raise refuse(self.refusal_text(refusal, None)) from None
        except DatabaseError:
            self._log_failure(call, None)
            raise refuse(self.failure_text) from None
        return Success(
            self.success_text,
            extra=(("did_details", (("id", str(did.pk)),)),),
            test_extra=(("did_details", (("id", str(did.pk)), ("did", did.number))),),
        )
