"""`did_device_assign` and `did_device_unassign` (did_methods.md §9, §10).

Both find the DID by its number. Its scope for them (§5.2) is by holder: the
system acts on DIDs that no reseller holds, a reseller on the DIDs it holds.
"""

from __future__ import annotations

from accounts.api_hash import HashedParameters
from dids.models import Device, Did

from .base import (
    DID_NOT_FOUND,
    DID_TERMINATED,
    NOT_AUTHORIZED_TO_MANAGE,
    Call,
    Success,
    WriteMethod,
    acts_for_system,
    device_in_scope,
    refuse,
    refuse_accountants_without_write,
    refuse_end_users,
)
from .values import Value, did_number, identifier

DEVICE_NOT_FOUND = "Device was not found"
DEVICE_NOT_AUTHORIZED = "Your are not authorized to use this Device"
DID_NOT_FREE = "DID is not free"


def did_id_by_number(value: Value) -> int:
    """The id of the DID with the trimmed number, matched exactly; else `DID was not found`."""
    number = did_number(value)
    found = (
        Did.objects.filter(number=number).values_list("pk", flat=True).first()
        if number is not None
        else None
    )
    if found is None:
        raise refuse(DID_NOT_FOUND)
    return found


def did_in_number_scope(did: Did, caller) -> bool:
    """§5.2 for the methods that find a DID by number."""
    if acts_for_system(caller):
        return did.reseller_id is None
    return did.reseller_id == caller.pk


class _ByNumber(WriteMethod):
    # The text when the DID exists but is not the caller's (check 12 / 10).
    out_of_scope_text = ""

    def refusal_text(self, refusal, did_id: int | None) -> str:
        # The services know only DIDs the caller may manage: a reseller's request for
        # an existing DID it does not hold is out of scope, not "not found".
        if refusal.code == "not_found" and did_id and Did.objects.filter(pk=did_id).exists():
            return self.out_of_scope_text
        return super().refusal_text(refusal, did_id)


class DidDeviceAssign(_ByNumber):
    name = "did_device_assign"
    aliases = ("did_assign_device",)
    hashed_parameters = HashedParameters.legacy_order("device_id", "did")
    success_text = "Device assigned to DID"
    failure_text = "Device was not assigned"
    out_of_scope_text = "Your are not authorized to use this DID"
    refusal_texts = {
        "not_found": DID_NOT_FOUND,
        "terminated": DID_TERMINATED,
        "status": DID_NOT_FREE,
        "target": DID_NOT_FREE,
    }

    def run(self, call: Call) -> Success:
        caller, params = call.caller, call.params
        refuse_end_users(caller)  # 7
        device_id = identifier(params.get("device_id"))
        device = (
            Device.objects.select_related("user").filter(pk=device_id).first()
            if device_id
            else None
        )
        if device is None:  # 8
            raise refuse(DEVICE_NOT_FOUND)
        if not device_in_scope(device, caller):  # 9
            raise refuse(DEVICE_NOT_AUTHORIZED)
        refuse_accountants_without_write(caller, NOT_AUTHORIZED_TO_MANAGE)  # 10
        did_id = did_id_by_number(params.get("did"))  # 11

        def decide(did: Did) -> str:
            if not did_in_number_scope(did, caller):  # 12
                raise refuse(self.out_of_scope_text)
            if did.status == Did.Status.TERMINATED:  # 13
                raise refuse(DID_TERMINATED)
            free = did.status == Did.Status.FREE
            reserved_for_its_user = (
                did.status == Did.Status.RESERVED and did.user_id == device.user_id
            )
            if not (free or reserved_for_its_user):  # 14
                raise refuse(DID_NOT_FREE)
            return "assign_device"

        self.apply(call, did_id, decide, target=device)
        return Success(
            self.success_text,
            test_extra=(("did_id", str(did_id)), ("device_id", str(device.pk))),
        )


class DidDeviceUnassign(_ByNumber):
    name = "did_device_unassign"
    aliases = ("did_unassign_device",)
    # `device_id` is hashed when sent, although the method ignores it (§10.1).
    hashed_parameters = HashedParameters.legacy_order("device_id", "did")
    success_text = "Device was unassigned from DID"
    failure_text = "Failed to unassign DID"
    # "You are", unlike did_device_assign's "Your are": the legacy texts differ.
    out_of_scope_text = "You are not authorized to use this DID"
    refusal_texts = {"not_found": DID_NOT_FOUND, "terminated": DID_TERMINATED}

    def run(self, call: Call) -> Success:
        caller, params = call.caller, call.params
        refuse_end_users(caller)  # 7
        refuse_accountants_without_write(caller, NOT_AUTHORIZED_TO_MANAGE)  # 8
        did_id = did_id_by_number(params.get("did"))  # 9

        def decide(did: Did) -> str:
            if not did_in_number_scope(did, caller):  # 10
                raise refuse(self.out_of_scope_text)
            if did.status == Did.Status.TERMINATED:  # 11
                raise refuse(DID_TERMINATED)
            if did.status != Did.Status.ACTIVE:  # 12
                raise refuse("DID is already free")
            if did.dial_plan_id is not None:  # 13
                raise refuse("DID is assigned to dialplan")
            return "unassign_device"

        self.apply(call, did_id, decide)
        return Success(self.success_text, test_extra=(("did_id", str(did_id)),))
