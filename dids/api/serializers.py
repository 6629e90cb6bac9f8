"""The `<did>` element of `dids_get`: field names are the XML tag names, in the contract's order.

Values and presence come from `dids.presentation` (the rule the GUI uses too), so
the API and the GUI cannot drift. A field declared here but not produced there,
or produced there but not declared here, is caught by the tests.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from dids.presentation import DidRow, Presenter


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
        # Worked out once: the serializer is reused for every row of a response.
        self.presenter = Presenter(viewer)

    def to_representation(self, instance: DidRow) -> dict[str, str]:
        """One row of `did_rows()` (no model instance: a large response builds none).
        The presenter's elements are the declared fields, in their order (the tests
        hold both to ELEMENTS)."""
        return self.presenter.elements(instance)
