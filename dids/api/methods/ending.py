"""`did_terminate`, `did_make_free` and `did_delete` (did_methods.md §14-§16)."""

from __future__ import annotations

from accounts.api_hash import HashedParameters
from accounts.authentication import ACCESS_DENIED
from dids.models import DialPlan, Did

from .base import (
    DID_NOT_FOUND,
    DID_NOT_SAVED,
    Call,
    Success,
    WriteMethod,
    refuse,
)
from .closing import by_id_checks

NOT_TERMINATED = "DID was not terminated"


class DidTerminate(WriteMethod):
    name = "did_terminate"
    hashed_parameters = HashedParameters.fixed("dids_id")
    success_text = "DID successfully terminated"
    failure_text = NOT_TERMINATED
    refusal_texts = {"not_found": DID_NOT_FOUND}

    def run(self, call: Call) -> Success:
        caller = call.caller
        did_id = by_id_checks(call, call.params.get("dids_id"))

        def decide(did: Did) -> str:
            if did.status not in (Did.Status.FREE, Did.Status.CLOSED):  # 10 (verbatim)
                raise refuse("DID was not terminated. Only Free or Closed DIDs can be terminate")
            # 11: resellers may not terminate (it would end their hold), and a free DID a
            # reseller holds is first taken back (did_details_update did_user_id=-1).
            if caller.is_reseller or (did.status == Did.Status.FREE and did.reseller_id):
                raise refuse(NOT_TERMINATED)
            return "terminate"

        self.apply(call, did_id, decide)
        return Success(self.success_text)


class DidMakeFree(WriteMethod):
    name = "did_make_free"
    hashed_parameters = HashedParameters.fixed("dids_id")
    success_text = "DID successfully made available"
    failure_text = DID_NOT_SAVED
    refusal_texts = {"not_found": DID_NOT_FOUND}

    def run(self, call: Call) -> Success:
        did_id = by_id_checks(call, call.params.get("dids_id"))

        def decide(did: Did) -> str:
            freeable = (Did.Status.TERMINATED, Did.Status.RESERVED, Did.Status.CLOSED)
            if did.status not in freeable:  # 10
                raise refuse(
                    "DID was not freed. Only Terminated, Reserved or Closed DIDs can be freed"
                )
            return "make_free"

        self.apply(call, did_id, decide)
        return Success(self.success_text)


class DidDelete(WriteMethod):
    name = "did_delete"
    hashed_parameters = HashedParameters.fixed("dids_id")
    success_text = "DID successfully deleted"
    failure_text = "DID was not deleted"
    refusal_texts = {"not_found": DID_NOT_FOUND}
    # Sent once the portal records calls; it keeps none today, so check 11 never fails.
    HAS_CALLS = "Cannot delete DID associated with calls"

    def run(self, call: Call) -> Success:
        if call.caller.is_reseller:
            # 7: resellers may not delete: a deleted DID is gone from the operator's inventory.
            raise refuse(ACCESS_DENIED)
        did_id = by_id_checks(call, call.params.get("dids_id"))

        def decide(did: Did) -> str:
            if did.status != Did.Status.TERMINATED:  # 10
                raise refuse("DID status must be terminated")
            if did.dial_plan_id is not None and did.dial_plan.type == DialPlan.Type.QUEUE:
                raise refuse("Cannot delete DID associated with queues")  # 12
            return "delete"

        self.apply(call, did_id, decide)
        return Success(self.success_text, nested=True)
