"""The DID page's forms: the edit form and one small form per lifecycle action.

They only turn what a browser sends into values: whole numbers, the chosen tone
zone, the object an id names. Whether a value may be stored, an object picked or an
action taken is decided by the services (`dids.services`, `dids.lifecycle`); the
forms ask them (`target_problem`) so that a mistake is shown at its field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Model, QuerySet

from accounts.models import User

from ..lifecycle import Transition
from ..models import Device, Did
from ..services import (
    MAX_COMMENT,
    MAX_INTEGER,
    TONE_ZONES,
    editable_fields,
    target_problem,
    target_queryset,
)

# What the picker script (static/portal/picker.js) searches for each kind of target.
PICKER_KINDS: dict[str, str] = {
    "user": "users",
    "device": "devices",
    "dial_plan": "dial-plans",
    "reseller": "resellers",
    "provider": "providers",
}
NOUNS: dict[str, str] = {
    "user": "user",
    "device": "device",
    "dial_plan": "dial plan",
    "reseller": "reseller",
    "provider": "provider",
}
# `updated_at` of a DID never changed since it was loaded (no timestamp yet).
NEVER = "never"


def object_name(obj: Model | None) -> str:
    """An object as a picker shows it beside its id."""
    if obj is None:
        return ""
    if isinstance(obj, User):
        name = obj.display_name
        return name if name == obj.username else f"{name} ({obj.username})"
    if isinstance(obj, Device):
        return f"{obj} of {obj.user.display_name}"
    return str(obj)


def version_of(did: Did) -> str:
    """The DID's `updated_at` as the forms carry it (the version the page was opened with)."""
    return did.updated_at.isoformat() if did.updated_at is not None else NEVER


class VersionField(forms.CharField):
    """The hidden `updated_at` the page was opened with; the services refuse a stale one."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            error_messages={
                "required": "This form is incomplete: reload the DID's page and try again.",
            },
            **kwargs,
        )

    def to_python(self, value: Any) -> datetime | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if value == NEVER:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["required"]) from None
        if moment.tzinfo is None:
            raise forms.ValidationError(self.error_messages["required"])
        return moment

    def validate(self, value: Any) -> None:
        # None is a real version ("never changed"); only a missing field is an error.
        pass

    def clean(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return super().clean(value)


class PickerInput(forms.TextInput):
    """A text input for an object's id, that static/portal/picker.js turns into a search.

    Without the script it stays what it is: type the id; the page shows the name of
    the chosen object beside it when the form comes back.
    """

    def __init__(self, kind: str, did: Did | None = None) -> None:
        attrs = {
            "data-picker": PICKER_KINDS[kind],
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": "10",
            "placeholder": f"{NOUNS[kind]} ID",
        }
        if did is not None:
            attrs["data-picker-did"] = str(did.pk)
        super().__init__(attrs=attrs)


class TargetField(forms.Field):
    """The id of an object among `queryset` (what the actor may name), as that object."""

    def __init__(self, *, kind: str, queryset: QuerySet, did: Did | None, **kwargs: Any):
        self.kind = kind
        self.queryset = queryset
        noun = NOUNS[kind]
        kwargs.setdefault("label", noun.capitalize())
        super().__init__(
            widget=PickerInput(kind, did),
            error_messages={"required": f"Pick a {noun}: type its ID or search for it."},
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        return value.pk if isinstance(value, Model) else value

    def to_python(self, value: Any) -> Model | None:
        if value in self.empty_values:
            return None
        if isinstance(value, Model):
            return value
        text = str(value).strip().lstrip("#")
        noun = NOUNS[self.kind]
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            raise forms.ValidationError(f"A {noun}'s ID is a whole number, e.g. 42.")
        found = self.queryset.filter(pk=int(text)).first()
        if found is None:
            raise forms.ValidationError(
                f"There is no {noun} with ID {int(text)} that you may pick."
            )
        return found


class DidActionForm(forms.Form):
    """One lifecycle action on one DID: its target if it needs one, the version the page
    was opened with, and (for destructive actions) whether it was confirmed."""

    updated_at = VersionField()
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *, did: Did, transition: Transition, actor: User) -> None:
        self.did = did
        self.transition = transition
        self.actor = actor
        prefix = transition.key
        if data is not None:
            # A suggested candidate is a button named `<prefix>-choice`: it picks that object.
            choice = data.get(f"{prefix}-choice")
            if choice:
                data = data.copy()
                data[f"{prefix}-target"] = choice
        super().__init__(data, prefix=prefix, initial={"updated_at": version_of(did)})
        if transition.needs:
            self.fields["target"] = TargetField(
                kind=transition.needs,
                queryset=target_queryset(transition.needs, actor),
                did=did,
            )

    @property
    def chosen_name(self) -> str:
        """The name of the object the form names, when it comes back to the page."""
        if not self.is_bound or "target" not in self.fields:
            return ""
        field = self.fields["target"]
        try:
            return object_name(field.clean(self["target"].data))
        except forms.ValidationError:
            return ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        target = cleaned.get("target")
        if target is not None:
            problem = target_problem(self.did, self.transition.key, target, self.actor)
            if problem:
                self.add_error("target", problem)
        return cleaned


# The order the edit form shows the fields in; which of them it shows is editable_fields'.
EDIT_ORDER: tuple[str, ...] = (
    "provider",
    "language",
    "call_limit",
    "tone_zone",
    "grace_time",
    "callerid_name_prefix",
    "custom_sip_header",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "comment",
    "reseller_comment",
)
COMMENT_FIELDS = frozenset({"comment", "reseller_comment"})


def _max_length(name: str) -> int:
    return Did._meta.get_field(name).max_length


def _tone_zone_choices(current: str) -> list[tuple[str, str]]:
    choices = [("", "— none —")] + [(zone, zone) for zone in TONE_ZONES]
    if current and current not in TONE_ZONES:
        # Loaded from elsewhere: kept as it is until someone picks a known zone.
        choices.insert(1, (current, f"{current} (not a known zone)"))
    return choices


def _edit_field(name: str, did: Did, actor: User) -> forms.Field:
    if name == "provider":
        return TargetField(
            kind="provider",
            queryset=target_queryset("provider", actor),
            did=did,
            required=False,
            help_text="The provider's ID; empty for none.",
        )
    if name in ("call_limit", "grace_time"):
        return forms.IntegerField(
            label="Call limit" if name == "call_limit" else "Grace time (seconds)",
            min_value=0,
            max_value=MAX_INTEGER,
            help_text="Simultaneous calls; 0 = unlimited." if name == "call_limit" else "",
        )
    if name == "tone_zone":
        return forms.ChoiceField(
            label="Tone zone", required=False, choices=_tone_zone_choices(did.tone_zone)
        )
    if name == "ai_agent_compatible":
        return forms.BooleanField(label="AI-agent compatible", required=False)
    if name in COMMENT_FIELDS:
        return forms.CharField(
            label="Comment" if name == "comment" else "Reseller comment",
            required=False,
            strip=False,
            max_length=MAX_COMMENT,
            widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        )
    labels = {
        "language": ("Language", "e.g. en, lt."),
        "callerid_name_prefix": ("CallerID name prefix", ""),
        "custom_sip_header": ("Custom SIP header", "One header line, e.g. X-Customer: 42."),
        "routes_to_openai_project_id": ("VoiceAI routing target", ""),
    }
    label, help_text = labels[name]
    return forms.CharField(
        label=label, required=False, max_length=_max_length(name), help_text=help_text
    )


def _initial(name: str, did: Did, actor: User) -> Any:
    if name == "provider":
        # Only a provider the actor may name is shown (a reseller never sees the operator's).
        if did.provider_id and target_queryset("provider", actor).filter(pk=did.provider_id):
            return did.provider_id
        return None
    return getattr(did, name)


class DidEditForm(forms.Form):
    """The fields of a DID that the actor may change (`services.editable_fields`)."""

    updated_at = VersionField()

    def __init__(self, data: Any = None, *, did: Did, actor: User) -> None:
        self.did = did
        self.actor = actor
        allowed = editable_fields(actor)
        names = [name for name in EDIT_ORDER if name in allowed]
        initial = {name: _initial(name, did, actor) for name in names}
        initial["updated_at"] = version_of(did)
        super().__init__(data, initial=initial, prefix="edit")
        for name in names:
            self.fields[name] = _edit_field(name, did, actor)

    @property
    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != "updated_at"]

    @property
    def provider_name(self) -> str:
        if "provider" not in self.fields:
            return ""
        field = self.fields["provider"]
        value = self["provider"].data if self.is_bound else self.initial.get("provider")
        try:
            return object_name(field.clean(value))
        except forms.ValidationError:
            return ""

    def _clean_comment(self, name: str) -> str:
        # A browser sends a textarea's line breaks as CR LF; the DID keeps LF.
        return self.cleaned_data[name].replace("\r\n", "\n")

    def clean_comment(self) -> str:
        return self._clean_comment("comment")

    def clean_reseller_comment(self) -> str:
        return self._clean_comment("reseller_comment")

    def changed_values(self) -> dict[str, Any]:
        """The fields whose value differs from the DID's, as the services take them."""
        return {
            name: self.cleaned_data[name]
            for name in self.fields
            if name != "updated_at" and self.cleaned_data[name] != self._current(name)
        }

    def _current(self, name: str) -> Any:
        if name == "provider":
            return self.did.provider if self.initial.get("provider") else None
        return getattr(self.did, name)

    def with_version(self, did: Did) -> DidEditForm:
        """The same input, carrying `did`'s current version (after a refused stale save)."""
        data = self.data.copy()
        data[self.add_prefix("updated_at")] = version_of(did)
        form = DidEditForm(data, did=did, actor=self.actor)
        form.is_valid()
        return form
