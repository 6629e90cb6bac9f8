"""The DID page: every field the viewer may see, and the DID's history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.views.generic import DetailView

from accounts.models import User

from ..models import Did, DidHistory
from ..presentation import did_elements, role_elements
from .common import CanReadDidsMixin, visible_dids
from .controls import did_controls
from .did_page import did_page_context, field_links, readable_time

# Labels of the DID page, in the contract's element order; `did_number` and
# `did_status` repeat `did` and `status` and are left out.
DETAIL_LABELS: dict[str, str] = {
    "did": "DID",
    "id": "ID",
    "status": "Status",
    "provider": "Provider",
    "reseller": "Reseller",
    "owner": "Owner",
    "user_id": "End user ID",
    "device": "Device",
    "device_id": "Device ID",
    "dial_plan": "Dial plan",
    "language": "Language",
    "simultaneous_call_limit": "Call limit",
    "tone_zone": "Tone zone",
    "comment": "Comment",
    "ai_agent_compatible": "AI-agent compatible",
    "routes_to_openai_project_id": "VoiceAI routing target",
    "reserved_for_user_till": "Reserved for user till",
    "updated_at": "Updated",
}

# The API's words for a flag are `true`/`false`; a person reads Yes/No.
DETAIL_FLAG_TEXT: dict[str, str] = {"true": "Yes", "false": "No"}
DETAIL_FLAGS = frozenset({"ai_agent_compatible"})
# Dates: the API's RFC 3339 in UTC; a person reads them in its own time zone.
DETAIL_TIMES = frozenset({"updated_at", "reserved_for_user_till"})

# History keys that name an element a role may not see: hidden from that role's history.
HISTORY_KEYS_OF_ELEMENT: dict[str, tuple[str, ...]] = {
    "provider": ("provider", "provider_id"),
    "reseller": ("reseller", "reseller_id"),
    "dial_plan": ("dial_plan", "dial_plan_id"),
    "tone_zone": ("tone_zone",),
}


def hidden_history_keys(viewer: User) -> frozenset[str]:
    allowed = role_elements(viewer)
    hidden = {
        key for el, keys in HISTORY_KEYS_OF_ELEMENT.items() if el not in allowed for key in keys
    }
    # Each side sees only the comment it writes, in history as in the API.
    hidden.add("comment" if viewer.writes_reseller_comment else "reseller_comment")
    if viewer.is_end_user:
        hidden |= {"grace_time", "callerid_name_prefix", "custom_sip_header"}
    return frozenset(hidden)


def history_actor(entry: DidHistory, viewer: User) -> str:
    """Who made a change, as the viewer may know it.

    Operators (admins, accountants) see every name. A reseller or a user sees the
    names of its own circle (itself, its reseller, its reseller's users) and only
    the kind of account for anyone else.
    """
    by = entry.by
    if by is None:
        return "System"
    if viewer.sees_all_dids:
        return by.display_name
    if by.pk == viewer.pk:
        return by.display_name
    circle_owner = viewer if viewer.is_reseller else viewer.owner
    if circle_owner is not None and circle_owner.pk in (by.pk, by.owner_id):
        return by.display_name
    return "Operator" if by.is_admin or by.is_accountant else "Another account"


def format_change(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


class DidDetailView(CanReadDidsMixin, DetailView):
    """A DID's page, read-only: what the viewer's role may see, and the DID's history."""

    template_name = "dids/did_detail.html"
    context_object_name = "did"

    def get_queryset(self) -> QuerySet:
        # Outside the viewer's visibility the DID does not exist for it: a 404.
        return visible_dids(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        did: Did = self.object
        viewer: User = self.request.user
        elements = did_elements(did, viewer)
        allowed = role_elements(viewer)
        links = field_links(did, viewer)
        # Every field of the role, "—" where the DID has no value (docs/gui.md, Empty
        # values); the reservation date only for a closed DID, as in the API.
        fields = [
            (label, self.field_value(did, name, elements), links.get(name))
            for name, label in DETAIL_LABELS.items()
            if name in elements or (name in allowed and name != "reserved_for_user_till")
        ]
        if "comment" in allowed and viewer.writes_reseller_comment:
            fields = [
                ("Reseller comment", *rest) if label == "Comment" else (label, *rest)
                for label, *rest in fields
            ]
        fields.append(("Created", readable_time(did.created_at), None))
        if not viewer.is_end_user:
            fields.append(("Grace time (seconds)", str(did.grace_time), None))
            fields.append(("CallerID name prefix", did.callerid_name_prefix, None))
            fields.append(("Custom SIP header", did.custom_sip_header, None))
        hidden = hidden_history_keys(viewer)
        history = [
            {
                "at": entry.at,
                "by": history_actor(entry, viewer),
                "source": entry.get_source_display(),
                # The client's address is for the operator's eyes only.
                "address": entry.address if viewer.sees_all_dids else "",
                "action": entry.action,
                "changes": [
                    (key, format_change(change[0]), format_change(change[1]))
                    if isinstance(change, list | tuple) and len(change) == 2
                    else (key, "", format_change(change))
                    for key, change in (entry.changes or {}).items()
                    if key not in hidden
                ],
            }
            for entry in did.history.select_related("by")
        ]
        context.update(
            title=f"DID {did.number}",
            list_title="Personal DIDs" if viewer.is_end_user else "DIDs",
            fields=fields,
            history=history,
            **did_page_context(self.request, did),
        )
        # The edit form and the actions the viewer may take (dids.views.controls).
        context.update(did_controls(self.request, did, kwargs))
        return context

    @staticmethod
    def field_value(did: Did, name: str, elements: dict[str, str]) -> str:
        """An element as the page shows it: dates readable in the viewer's time zone,
        flags as Yes/No, the API's text otherwise ("" where it has none)."""
        if name in DETAIL_TIMES:
            return readable_time(getattr(did, name))
        if name in DETAIL_FLAGS:
            return DETAIL_FLAG_TEXT[elements[name]]
        return elements.get(name, "")
