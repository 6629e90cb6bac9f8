"""The DID write methods of the legacy API (did_methods.md §1), one class each.

`METHODS` lists them by canonical name; `BY_NAME` also by alias. Each method
declares beside itself its hashed parameters, its texts and its checks; the view
(`view.WriteMethodView`) and the `/billing/api/` dispatch serve them all alike.
"""

from __future__ import annotations

from accounts.api_hash import LEGACY_ORDER, HashedParameters

from .base import WriteMethod
from .closing import DidClose, DidSubscriptionStop
from .create import DidCreate
from .details import DidDetailsUpdate
from .device import DidDeviceAssign, DidDeviceUnassign
from .ending import DidDelete, DidMakeFree, DidTerminate

METHODS: dict[str, WriteMethod] = {
    method.name: method
    for method in (
        DidCreate(),
        DidDeviceAssign(),
        DidDeviceUnassign(),
        DidDetailsUpdate(),
        DidSubscriptionStop(),
        DidClose(),
        DidTerminate(),
        DidMakeFree(),
        DidDelete(),
    )
}
BY_NAME: dict[str, WriteMethod] = {
    name: method for method in METHODS.values() for name in method.names
}


def canonical_name(name: str) -> str | None:
    """`dids_get` or a write method's canonical name for a name or alias; None if unknown."""
    if name == "dids_get":
        return name
    method = BY_NAME.get(name)
    return method.name if method is not None else None


def hashed_parameters_of(name: str) -> HashedParameters:
    """The hashed parameters of a method (or alias); dids_get's for `dids_get`."""
    method = BY_NAME.get(name)
    return method.hashed_parameters if method is not None else LEGACY_ORDER
