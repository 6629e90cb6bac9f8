"""Forms of the provider, device and dial plan pages. They parse input only: the rules
are dids.catalog's, which raise ValidationError keyed by these field names."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User

from .catalog import COMMON_DEVICE_TYPES, device_users
from .models import DialPlan, writes_every_did


class PickedModelChoiceField(forms.ModelChoiceField):
    """An id typed or picked by name (static/portal/picker.js); 0 or empty means none."""

    def __init__(self, queryset: Any, *, kind: str, none_label: str = "", **kwargs: Any):
        attrs = {"data-picker": kind, **kwargs.pop("picker_attrs", {})}
        if none_label:
            attrs["data-none-label"] = none_label
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "There is no such account that you may choose here."},
        )
        super().__init__(queryset, **kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if value in ("0", 0):
            return None
        return super().to_python(value)


def _owner_field(*, pro: bool) -> PickedModelChoiceField:
    resellers = User.objects.filter(role=User.Role.RESELLER)
    if pro:
        resellers = resellers.filter(own_providers=True)
    return PickedModelChoiceField(
        resellers,
        kind="resellers",
        none_label="The system",
        picker_attrs={"data-picker-pro": "1"} if pro else {},
        required=False,
        label="Owner",
        help_text=(
            "Empty for the system; a Reseller PRO for its own providers."
            if pro
            else "Empty for the system; a reseller for its own dial plans."
        ),
    )


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=100)

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if writes_every_did(viewer):
            self.fields["owner"] = _owner_field(pro=True)


class DeviceForm(forms.Form):
    type = forms.CharField(
        max_length=20,
        widget=forms.TextInput(attrs={"list": "device-types", "autocomplete": "off"}),
        help_text=f"Letters and digits, e.g. {', '.join(COMMON_DEVICE_TYPES[:3])}.",
    )
    name = forms.CharField(max_length=100, required=False)
    extension = forms.CharField(
        max_length=50,
        required=False,
        help_text="A fax device, or one without a name, is shown by its extension.",
    )

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"] = PickedModelChoiceField(
            device_users(viewer),
            kind="users",
            picker_attrs={"data-picker-role": "user"},
            label="User",
            help_text=(
                "One of your users." if viewer.is_reseller else "The end user whose device it is."
            ),
        )


class DialPlanForm(forms.Form):
    name = forms.CharField(max_length=100)
    type = forms.ChoiceField(choices=DialPlan.Type.choices)

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if writes_every_did(viewer):
            self.fields["owner"] = _owner_field(pro=False)
