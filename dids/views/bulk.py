"""Bulk actions on the DIDs list, as in the Django admin: the list posts the action with
the ticked DIDs (or `select_across=1` and the list's query), this view asks for the
value the action needs, shows a confirmation page with what would change and what
would be skipped and why, and on "apply" runs the action and goes back to the list.

The registry of actions is `dids.bulk`; every DID goes through the services' steps
(`services.dids_apply_many`). The selection is the list's: `visible_dids` and the
very `DidFilterSet`, and it is evaluated again when applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from accounts.forms import client_address
from accounts.models import User

from ..bulk import BULK_ACTIONS, BulkAction, clean_value, offered_actions
from ..filters import DidFilterSet
from ..models import DidHistory, Provider
from ..services import BULK_CHUNK, BulkOutcome, Skipped
from ..tables import MAX_PAGE_SIZE
from .common import CanReadDidsMixin, listing_query, visible_dids

SELECTED = "_selected_action"  # the checkbox column's name, as in the Django admin
SKIP_GROUPS_IN_MESSAGES = 5


class BulkSelectionForm(forms.Form):
    """What the list (and then each step) posts: the action and which DIDs."""

    action = forms.ChoiceField()
    # Not a CheckboxInput, which reads any text, "0" too, as ticked.
    select_across = forms.BooleanField(required=False, widget=forms.HiddenInput)
    query = forms.CharField(required=False, strip=False)
    expected = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args: Any, actions: list[BulkAction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "---------")] + [(a.key, a.label) for a in actions]
        self.fields["action"].error_messages = {
            "required": "Pick an action.",
            "invalid_choice": "Pick one of the actions of the menu.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = self.data.getlist(SELECTED) if hasattr(self.data, "getlist") else []
        if not data.get("select_across"):
            if len(raw) > MAX_PAGE_SIZE:
                raise forms.ValidationError(f"Tick at most {MAX_PAGE_SIZE} DIDs at a time.")
            try:
                data["ids"] = sorted({int(value) for value in raw})
            except ValueError:
                raise forms.ValidationError("The ticked DIDs are not valid.") from None
        return data


class ValueForm(forms.Form):
    """What the action needs: a reseller, or the value to set."""

    def __init__(self, *args: Any, action: BulkAction, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        self.actor = actor
        field = action.value_field(actor)
        if field is not None:
            self.fields["value"] = field

    def clean_value(self) -> Any:
        return clean_value(self.action, self.actor, self.cleaned_data.get("value"))

    def shown(self) -> str:
        """The value as the person reads it on the confirmation page and in messages."""
        value = self.cleaned_data.get("value")
        if isinstance(value, User):
            return value.display_name
        if isinstance(value, Provider):
            return self.fields["value"].label_from_instance(value)
        if value in (None, ""):
            return "none"
        text = str(value)
        return text if len(text) <= 60 else f"{text[:59]}…"


@dataclass
class BulkSelection:
    """The DIDs a bulk action covers: ticked ones, or every DID the list's query matches,
    always within what the account sees (`visible_dids`)."""

    queryset: QuerySet
    across: bool

    def count(self) -> int:
        return self.queryset.count()

    def ids(self) -> Iterator[int]:
        """The ids, streamed from the database a chunk at a time (never all in memory)."""
        return (
            self.queryset.order_by("id")
            .values_list("id", flat=True)
            .iterator(chunk_size=BULK_CHUNK)
        )


def list_query(request: HttpRequest, raw: str) -> QueryDict:
    """The list's query as posted, re-encoded, with Hide terminated filled in as the list
    does; never a page or page size (they do not narrow the selection)."""
    query = listing_query(request, QueryDict(raw, mutable=True))
    for name in ("page", "per_page"):
        query.pop(name, None)
    return query


def selection_of(request: HttpRequest, data: dict[str, Any], query: QueryDict) -> BulkSelection:
    dids = visible_dids(request.user)
    if not data.get("select_across"):
        return BulkSelection(dids.filter(pk__in=data["ids"]), across=False)
    filterset = DidFilterSet(query, dids, request=request, account=request.user)
    errors = filterset.error_messages()
    if errors:
        raise forms.ValidationError(errors)
    return BulkSelection(filterset.windowed(), across=True)


class DidBulkView(CanReadDidsMixin, View):
    """POST only: the action menu's target, its value step, confirmation and apply."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        actor: User = request.user
        actions = offered_actions(actor)
        if not actions:
            return TemplateResponse(
                request,
                "dids/not_authorised.html",
                {
                    "title": "Not authorised",
                    "message": "You may not change DIDs",
                    "detail": "Your account may look at DIDs, not change them. "
                    "Nothing was changed.",
                },
                status=403,
            )
        form = BulkSelectionForm(request.POST, actions=actions)
        query = list_query(request, request.POST.get("query", ""))
        back = f"{reverse('dids:list')}?{query.urlencode()}"
        if not form.is_valid():
            return self._back(request, back, _first_error(form))
        action = BULK_ACTIONS[form.cleaned_data["action"]]
        try:
            selection = selection_of(request, form.cleaned_data, query)
        except forms.ValidationError as error:
            return self._back(request, back, "The filters are not valid: " + " ".join(error))
        count = selection.count()
        if count > settings.DIDS_BULK_LIMIT:
            return self._back(
                request,
                back,
                f"{_dids(count)} selected: a bulk action takes at most "
                f"{settings.DIDS_BULK_LIMIT:,} at a time. Narrow the filters (e.g. with Max "
                "results) and repeat. Nothing was changed.",
            )
        if count == 0:
            return self._back(
                request,
                back,
                "Tick the DIDs to change first (or select all that match the filters). "
                "Nothing was changed.",
            )
        step = request.POST.get("step", "")
        value_form = ValueForm(
            request.POST if step in ("confirm", "apply") else None, action=action, actor=actor
        )
        context = {
            "action": action,
            "selection": selection,
            "count": count,
            "query": query.urlencode(),
            "back_url": back,
            "value_form": value_form,
        }
        if action.needs is not None and not value_form.is_valid():
            return self._page(request, context, step="value")
        value = value_form.cleaned_data.get("value") if action.needs else None
        run = {
            "ids": selection.ids(),
            "actor": actor,
            "source": DidHistory.Source.GUI,
            "address": client_address(request),
            "value": value,
        }
        if step == "apply":
            outcome = action.run(**run)
            self._report(request, action, value_form, outcome, form.cleaned_data.get("expected"))
            return HttpResponseRedirect(back)
        outcome = action.run(**run, dry_run=True)
        return self._page(
            request, context, step="confirm", outcome=outcome, skips=skip_groups(outcome)
        )

    def _page(self, request: HttpRequest, context: dict[str, Any], **extra: Any) -> HttpResponse:
        selection: BulkSelection = context["selection"]
        context.update(
            extra,
            title=f"{context['action'].label}: {context['count']:,} DID"
            + ("" if context["count"] == 1 else "s"),
            list_title="DIDs",
            ticked=[] if selection.across else list(selection.ids()),
        )
        return TemplateResponse(request, "dids/bulk_confirm.html", context)

    def _back(self, request: HttpRequest, url: str, message: str) -> HttpResponse:
        messages.warning(request, message)
        return HttpResponseRedirect(url)

    def _report(
        self,
        request: HttpRequest,
        action: BulkAction,
        value_form: ValueForm,
        outcome: BulkOutcome,
        expected: int | None,
    ) -> None:
        done = action.done
        if action.needs == "value":
            done = f"changed ({action.value_label.lower()}: {value_form.shown()})"
        elif action.needs == "reseller":
            done = f"handed to the reseller {value_form.shown()}"
        level = messages.SUCCESS if outcome.changed else messages.WARNING
        messages.add_message(request, level, f"{_dids(outcome.changed)} {done}.")
        if expected is not None and expected != outcome.changed:
            messages.info(
                request,
                f"The confirmation page counted {_dids(expected)} to change: "
                "the DIDs changed in the meantime, and were checked again when applied.",
            )
        groups = skip_groups(outcome)
        if groups:
            messages.warning(request, f"{_dids(outcome.skipped_count)} skipped:")
        for reason, group in groups[:SKIP_GROUPS_IN_MESSAGES]:
            examples = ", ".join(number for _, number in group.examples)
            more = f" (e.g. {examples})" if examples else ""
            messages.warning(request, f"{reason} Skipped: {_dids(group.count)}{more}.")
        rest = groups[SKIP_GROUPS_IN_MESSAGES:]
        if rest:
            others = sum(group.count for _, group in rest)
            reasons = "1 other reason" if len(rest) == 1 else f"{len(rest)} other reasons"
            messages.warning(request, f"{others:,} more, for {reasons}.")


def skip_groups(outcome: BulkOutcome) -> list[tuple[str, Skipped]]:
    """The reasons for skipping, the most frequent first."""
    return sorted(outcome.skipped.items(), key=lambda item: (-item[1].count, item[0]))


def _dids(count: int) -> str:
    return f"{count:,} DID" + ("" if count == 1 else "s")


def _first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return f"{errors[0]} Nothing was changed."
    return "Nothing was changed."
