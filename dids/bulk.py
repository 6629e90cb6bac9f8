"""Bulk actions on the DIDs list: the registry, as the Django admin's actions list.

Each action says what the menu calls it, what it needs from the person (a reseller,
a value or nothing), and what it runs on every selected DID: a transition of the
lifecycle table or a change of one field, through `services.dids_apply_many`, which
takes the very steps of `services.did_apply` on each DID. Who is offered an action
is the lifecycle's rule (`lifecycle.may_take`) or the editing rule
(`services.editable_fields`): readers and users are offered none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import User

from .lifecycle import TRANSITIONS, Transition, may_take
from .models import Provider
from .services import (
    MAX_COMMENT,
    MAX_INTEGER,
    TONE_ZONES,
    BulkOutcome,
    DidActionRefused,
    clean_field_value,
    dids_apply_many,
    editable_fields,
    provider_allowed,
)

# Beyond this many resellers the "hand to reseller" form asks for an ID, not a choice.
PICKER_LIMIT = 200


@dataclass(frozen=True)
class BulkAction:
    key: str
    label: str  # in the action menu and the confirmation page's title
    done: str  # completes "1,200 DIDs …" once applied
    transition: str | None = None  # a key of lifecycle.TRANSITIONS
    field: str | None = None  # the DID field a "set" action changes
    needs: str | None = None  # None | "reseller" | "value": what the person supplies
    value_label: str = ""  # what the value form calls it

    @property
    def lifecycle(self) -> Transition | None:
        return TRANSITIONS[self.transition] if self.transition else None

    @property
    def destructive(self) -> bool:
        return self.lifecycle is not None and self.lifecycle.destructive

    @property
    def help(self) -> str:
        if self.lifecycle is not None:
            return self.lifecycle.help
        return f"Set the {self.value_label.lower()} of every selected DID."

    def field_for(self, actor: User) -> str | None:
        """The DID field the action sets for this actor: the comment is each side's own."""
        if self.field == "comment" and actor.writes_reseller_comment:
            return "reseller_comment"
        return self.field

    def offered_to(self, actor: User) -> bool:
        if self.lifecycle is not None:
            return may_take(self.lifecycle, actor)
        return self.field_for(actor) in editable_fields(actor)

    def run(
        self,
        *,
        ids: Iterable[int],
        actor: User,
        source: str,
        address: str = "",
        value: Any = None,
        dry_run: bool = False,
    ) -> BulkOutcome:
        """Take the action on every DID of `ids` (an iterator), or only count (dry run)."""
        if self.lifecycle is not None:
            return dids_apply_many(
                ids=ids,
                action=self.transition,
                actor=actor,
                source=source,
                address=address,
                target=value if self.needs == "reseller" else None,
                dry_run=dry_run,
            )
        return dids_apply_many(
            ids=ids,
            action=None,
            actor=actor,
            source=source,
            address=address,
            fields={self.field_for(actor): value},
            dry_run=dry_run,
        )

    def value_field(self, actor: User) -> forms.Field | None:
        """The form field that asks for what the action needs (None: it needs nothing)."""
        if self.needs is None:
            return None
        if self.needs == "reseller":
            resellers = User.objects.filter(role=User.Role.RESELLER, is_active=True)
            field = forms.ModelChoiceField(
                queryset=resellers.order_by("username"),
                label="Reseller",
                empty_label="— pick a reseller —",
            )
            if resellers.count() > PICKER_LIMIT:  # no select box of thousands
                field.widget = forms.TextInput(attrs={"size": 10})
                field.help_text = "The reseller's ID (Accounts lists them); its name is shown next."
            return field
        if self.field == "provider":
            return ProviderChoiceField(
                queryset=usable_providers(actor),
                label="Provider",
                required=False,
                empty_label="— no provider —" if actor.manages_all_dids else "— pick a provider —",
            )
        if self.field == "call_limit":
            return forms.IntegerField(
                label="Call limit", min_value=0, max_value=MAX_INTEGER, help_text="0 = unlimited."
            )
        if self.field == "tone_zone":
            return forms.ChoiceField(
                label="Tone zone",
                choices=[("", "— none —"), *((zone, zone) for zone in TONE_ZONES)],
                required=False,
            )
        if self.field == "comment":
            return forms.CharField(
                label="Comment",
                widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                required=False,
                max_length=MAX_COMMENT,
                help_text="Replaces the comment; empty clears it.",
            )
        return forms.CharField(
            label="Language", required=False, max_length=50, help_text="e.g. en; empty clears it."
        )


def usable_providers(actor: User) -> QuerySet:
    """The providers a "set provider" may offer the actor (each DID is still checked:
    the operator may put a reseller's provider only on that reseller's DIDs)."""
    providers = Provider.objects.select_related("owner").order_by("owner_id", "name", "id")
    return providers if actor.manages_all_dids else providers.filter(owner=actor)


class ProviderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Provider) -> str:
        if obj.owner is None:
            return f"{obj.name} (system)"
        return f"{obj.name} (reseller {obj.owner.display_name})"


def _transition(key: str, done: str, *, label: str = "", needs: str | None = None) -> BulkAction:
    return BulkAction(
        key=key,
        label=label or TRANSITIONS[key].label,
        done=done,
        transition=key,
        needs=needs,
        value_label="Reseller" if needs == "reseller" else "",
    )


def _set(field: str, value_label: str) -> BulkAction:
    return BulkAction(
        key=f"set_{field}",
        label=f"Set {value_label.lower()}",
        done="changed",
        field=field,
        needs="value",
        value_label=value_label,
    )


# The action menu, in this order.
BULK_ACTIONS: dict[str, BulkAction] = {
    action.key: action
    for action in (
        _transition("hand_to_reseller", "handed to the reseller", needs="reseller"),
        _transition("take_back", "taken back from their reseller"),
        _transition("close", "closed"),
        _transition("make_free", "made free"),
        _transition("terminate", "terminated"),
        _transition("delete", "deleted", label="Delete terminated DIDs"),
        _set("language", "Language"),
        _set("provider", "Provider"),
        _set("call_limit", "Call limit"),
        _set("tone_zone", "Tone zone"),
        _set("comment", "Comment"),
    )
}


def offered_actions(actor: User) -> list[BulkAction]:
    """The bulk actions the actor's role may take at all (none for readers and users)."""
    return [action for action in BULK_ACTIONS.values() if action.offered_to(actor)]


def clean_value(action: BulkAction, actor: User, value: Any) -> Any:
    """The value checked once, by the services' rule for the field, before a run.

    A provider the actor may not use at all is refused here; one it may use on some
    DIDs only is checked on each DID (skipped with the reason where it is not)."""
    name = action.field_for(actor)
    if action.field is None or name == "provider":
        if (
            name == "provider"
            and value is None
            and not provider_allowed(None, actor=actor, holder_id=None)
        ):
            raise forms.ValidationError("Pick one of your providers.")
        return value
    if value is None:
        value = ""
    try:
        return clean_field_value(name, value)
    except DidActionRefused as refused:
        raise forms.ValidationError(refused.message) from None
