"""Add DIDs: one number or a range `first-last`, with the batch's provider, reseller,
language, … Who may is `services.creation_refusal`; what is valid is the services'
rule (`did_create`, `dids_create_range`): this page only collects the values."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from accounts.forms import client_address
from accounts.models import User

from ..models import Provider
from ..services import (
    RANGE_LIMIT,
    TONE_ZONES,
    DidActionRefused,
    Source,
    creation_refusal,
    did_create,
    dids_create_range,
    editable_fields,
    target_queryset,
)
from .did_forms import TargetField, object_name

# `first-last`, also with spaces or an en dash around the dash (as printed in documents).
RANGE = re.compile(r"\s*([^\s\-\u2013]+)\s*[-\u2013]\s*([^\s\-\u2013]+)\s*\Z")


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return TemplateResponse(
        request,
        "dids/not_allowed.html",
        {"title": "Not authorised", "message": message},
        status=403,
    )


class CanCreateDidsMixin:
    """Only who may create DIDs (`services.creation_refusal`); others get a 403 page that
    says why."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        why = creation_refusal(request.user)
        if why is not None:
            return forbidden(request, why)
        return super().dispatch(request, *args, **kwargs)


class ProviderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Provider) -> str:
        if obj.owner_id is None:
            return f"{obj.name} (#{obj.pk})"
        return f"{obj.name} (#{obj.pk}, {obj.owner.display_name}'s own)"


def _batch_field(name: str, actor: User) -> forms.Field:
    """The form field for one DID field the actor may set (`services.editable_fields`)."""
    text = {"required": False}
    if name == "language":
        return forms.CharField(label="Language", help_text="E.g. en.", **text)
    if name == "call_limit":
        return forms.IntegerField(
            label="Simultaneous call limit",
            min_value=0,
            initial=0,
            required=False,
            help_text="0 means unlimited.",
        )
    if name == "comment":
        return forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}), **text)
    if name == "reseller_comment":
        label = "Reseller comment" if actor.manages_all_dids else "Comment"
        return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": 3}), **text)
    if name == "tone_zone":
        return forms.ChoiceField(
            label="Tone zone", choices=[("", "—"), *((z, z) for z in TONE_ZONES)], required=False
        )
    if name == "grace_time":
        return forms.IntegerField(
            label="Grace time (seconds)", min_value=0, initial=0, required=False
        )
    if name == "ai_agent_compatible":
        return forms.BooleanField(label="AI-agent compatible", required=False)
    labels = {
        "callerid_name_prefix": "CallerID name prefix",
        "routes_to_openai_project_id": "VoiceAI routing target",
        "custom_sip_header": "Custom SIP header",
    }
    return forms.CharField(label=labels[name], **text)


class DidCreateForm(forms.Form):
    numbers = forms.CharField(
        label="DID or range",
        max_length=120,
        help_text=(
            "One number (37060000000), or a range first-last of digits of one length "
            f"(37060000000-37060000999), at most {RANGE_LIMIT:,} numbers."
        ),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "size": 30}),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        allowed = editable_fields(actor)
        if "provider" in allowed:
            # Providers are few: a list of those the actor may name (the services refuse
            # a reseller's provider on a DID that is not that reseller's).
            self.fields["provider"] = ProviderChoiceField(
                queryset=target_queryset("provider", actor).select_related("owner"),
                required=not actor.manages_all_dids,
                empty_label="—",
                help_text="" if actor.manages_all_dids else "One of your providers.",
            )
        if actor.manages_all_dids:
            self.fields["reseller"] = TargetField(
                kind="reseller",
                queryset=target_queryset("reseller", actor),
                did=None,
                required=False,
                help_text="Empty: the operator's stock. A reseller's ID: it holds the new DIDs.",
            )
        for name in allowed:
            if name != "provider":
                self.fields[name] = _batch_field(name, actor)

    def clean_reseller(self) -> User | None:
        reseller = self.cleaned_data["reseller"]
        if reseller is not None:
            # The picker's input shows an id: say back whom it names.
            self["reseller"].help_text = f"Reseller: {object_name(reseller)}."
        return reseller

    def clean_numbers(self) -> tuple[str, str | None]:
        value = self.cleaned_data["numbers"]
        match = RANGE.match(value)
        if match:
            return match.group(1), match.group(2)
        return value.strip(), None

    def batch_fields(self) -> dict[str, Any]:
        """The values given for the batch (empty ones left to the DID's defaults)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "numbers" and value not in (None, "", 0, False)
        }

    def add_refusal(self, refused: DidActionRefused) -> None:
        field = refused.field
        if field in ("number", "range") or refused.code == "exists":
            field = "numbers"
        self.add_error(field if field in self.fields else None, refused.message)


class DidCreateView(CanCreateDidsMixin, View):
    """Add DIDs: one number or a range, all or nothing."""

    template_name = "dids/did_create.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, DidCreateForm(actor=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DidCreateForm(request.POST, actor=request.user)
        if not form.is_valid():
            return self.render(request, form)
        first, last = form.cleaned_data["numbers"]
        write = {
            "actor": request.user,
            "source": Source.GUI,
            "address": client_address(request),
            "fields": form.batch_fields(),
        }
        try:
            if last is None:
                did = did_create(number=first, **write)
            else:
                count = dids_create_range(first=first, last=last, **write)
        except DidActionRefused as refused:
            form.add_refusal(refused)
            return self.render(request, form)
        if last is None:
            messages.success(request, f"DID {did.number} was created.")
            return HttpResponseRedirect(reverse("dids:detail", args=[did.pk]))
        messages.success(request, f"{count:,} DIDs were created, {first} to {last}.")
        return HttpResponseRedirect(range_list_url(first, last))

    def render(self, request: HttpRequest, form: DidCreateForm) -> HttpResponse:
        context = {
            "title": "Add DIDs",
            "form": form,
            "range_limit": RANGE_LIMIT,
        }
        return TemplateResponse(request, self.template_name, context)


def range_list_url(first: str, last: str) -> str:
    """The DIDs list showing the numbers that start as the range does (its common prefix)."""
    prefix = ""
    for a, b in zip(first, last, strict=True):
        if a != b:
            break
        prefix += a
    query = {"search_did_number": f"{prefix}%", "search_hide_terminated_dids": "0"}
    return f"{reverse('dids:list')}?{urlencode(query)}"
