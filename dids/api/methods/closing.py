"""`did_subscription_stop` and `did_close` (did_methods.md §12, §13): closing a DID.

A closed DID stays reserved for its user for *Days for DID close* days (the
services set *reserved for user till*); `did_subscription_stop` also closes a
closed DID again, which restarts that period.
"""

from __future__ import annotations

from accounts.api_hash import HashedParameters
from dids.models import Did

from .base import (
    DID_NOT_FOUND,
    DID_NOT_ON_DEVICE,
    DID_NOT_SAVED,
    NOT_AUTHORIZED_FUNCTIONALITY,
    Call,
    Success,
    WriteMethod,
    refuse,
    refuse_accountants_without_write,
    refuse_end_users,
)
from .values import identifier


def by_id_checks(call: Call, value: object) -> int:
    """Checks 7-9 of the methods that find a DID by id: users refused, accountants
    without *Manage DIDs* write refused, the id a whole number. Whether the DID exists
    and the caller may act on it (a reseller: it holds it) the services decide: both
    are `DID was not found`."""
    refuse_end_users(call.caller)  # 7
    refuse_accountants_without_write(call.caller, NOT_AUTHORIZED_FUNCTIONALITY)  # 8
    did_id = identifier(value)
    if did_id is None:  # 9
        raise refuse(DID_NOT_FOUND)
    return did_id


class DidSubscriptionStop(WriteMethod):
    name = "did_subscription_stop"
    # dids_id, else did_id: the legacy system read dids_id, its documentation names
    # did_id; both serve (§3.2). Nothing else is hashed.
    hashed_parameters = HashedParameters.fixed(("dids_id", "did_id"))
    success_text = "DID was successfully closed"
    failure_text = DID_NOT_SAVED
    refusal_texts = {"not_found": DID_NOT_FOUND, "status": DID_NOT_ON_DEVICE}

    def run(self, call: Call) -> Success:
        params = call.params
        value = params.get("dids_id") if params.given("dids_id") else params.get("did_id")
        did_id = by_id_checks(call, value)

        def decide(did: Did) -> str:
            if did.status == Did.Status.CLOSED:
                return "close_again"
            if did.status == Did.Status.ACTIVE and did.dial_plan_id is None:
                return "close"
            raise refuse(DID_NOT_ON_DEVICE)  # 10

        self.apply(call, did_id, decide)
        return Success(self.success_text)


class DidClose(WriteMethod):
    name = "did_close"
    hashed_parameters = HashedParameters.fixed("dids_id")
    success_text = "DID successfully closed"
    failure_text = DID_NOT_SAVED
    refusal_texts = {"not_found": DID_NOT_FOUND, "status": DID_NOT_ON_DEVICE}

    def run(self, call: Call) -> Success:
        did_id = by_id_checks(call, call.params.get("dids_id"))

        def decide(did: Did) -> str:
            if did.status == Did.Status.CLOSED:  # 10
                raise refuse("DID is already closed")
            if did.status == Did.Status.ACTIVE and did.dial_plan_id is not None:  # 11
                raise refuse("DID is assigned to Dial Plan")
            if did.status != Did.Status.ACTIVE:  # 12
                raise refuse(DID_NOT_ON_DEVICE)
            return "close"

        self.apply(call, did_id, decide)
        return Success(self.success_text, extra=(("did_details", (("id", str(did_id)),)),))
