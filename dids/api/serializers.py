"""The `<did>` element of `dids_get`: field names are the XML tag names, in the contract's order.

Values and presence come from `dids.presentation` (the rule the GUI uses too), so
the API and the GUI cannot drift. A field declared here but not produced there,
or produced there but not declared here, is caught by the tests.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from dids.models import Did
from dids.presentation import did_elements, role_elements

# The columns the elements are built from (dids.presentation), for `QuerySet.only()`:
# the accounts behind `user` and `reseller` are wide rows, and loading only these
# makes a large response about a fifth faster. A column missing here would cost one
# query per row; the query-count tests (fixed count whatever the rows) catch that.
SOURCE_FIELDS: tuple[str, ...] = (
    "number",
    "status",
    "language",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "updated_at",
    "call_limit",
    "comment",
    "reseller_comment",
    "tone_zone",
    "reserved_for_user_till",
    "provider__name",
    "reseller__username",
    "reseller__first_name",
    "reseller__last_name",
    "user__username",
    "user__first_name",
    "user__last_name",
    "device__type",
    "device__name",
    "device__extension",
    "dial_plan__name",
    "dial_plan__type",
)


class DidSerializer(serializers.Serializer):
    """One DID as its viewer may see it (dids_get.md §5). Read-only: dids_get lists."""

    did = serializers.CharField(read_only=True)
    did_number = serializers.CharField(read_only=True)
    provider = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    did_status = serializers.CharField(read_only=True)
    ai_agent_compatible = serializers.CharField(read_only=True)
    routes_to_openai_project_id = serializers.CharField(read_only=True)
    updated_at = serializers.CharField(read_only=True)
    reseller = serializers.CharField(read_only=True)
    owner = serializers.CharField(read_only=True)
    device = serializers.CharField(read_only=True)
    dial_plan = serializers.CharField(read_only=True)
    simultaneous_call_limit = serializers.CharField(read_only=True)
    comment = serializers.CharField(read_only=True)
    tone_zone = serializers.CharField(read_only=True)
    id = serializers.CharField(read_only=True)
    device_id = serializers.CharField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    reserved_for_user_till = serializers.CharField(read_only=True)

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        # Computed once: the serializer is reused for every row of a response.
        self.allowed = role_elements(viewer)
        self.tags = tuple(self._declared_fields)

    def to_representation(self, instance: Did) -> dict[str, str]:
        elements = did_elements(instance, self.viewer, self.allowed)
        return {tag: elements[tag] for tag in self.tags if tag in elements}
