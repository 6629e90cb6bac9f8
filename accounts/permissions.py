"""Who may call which MOR API method: the contract's checks 6 and 7 (dids_get.md §3).

DRF evaluates `permission_classes` in order and answers with the first refusal's
`message`; the API view turns it into the contract's `<error>` document.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import Level, User


def _caller(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_active else None


class ApiMethodPermitted(BasePermission):
    """Check 6: an *API restricted* account needs a permission group allowing the method."""

    api_method = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = _caller(request)
        if caller is None:
            return False
        if not caller.api_restricted:
            return True
        group = caller.api_permission_group
        # Deny by default: restricted without a group means no method at all.
        return group is not None and group.allows(self.api_method)


class CanCallApiMethod(ApiMethodPermitted):
    """Check 6 for a method named when the view is set up: the write methods share one
    view class. The text names the canonical method, also for a call of an alias."""

    def __init__(self, api_method: str) -> None:
        self.api_method = api_method
        self.message = f"API method not permitted: {api_method}"


class CanCallDidsGet(ApiMethodPermitted):
    api_method = "dids_get"
    message = "API method not permitted: dids_get"


class CanManageDids(BasePermission):
    """Check 7: an accountant reads DIDs only with *Manage DIDs* read or write.

    The other roles pass; what they see is decided by `Did.objects.visible_to`.
    """

    message = "You are not authorized to manage DIDs"

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = _caller(request)
        if caller is None:
            return False
        if caller.is_accountant:
            return caller.accountant_right("manage_dids") in (Level.READ, Level.WRITE)
        return caller.role in (User.Role.ADMIN, User.Role.RESELLER, User.Role.USER)
