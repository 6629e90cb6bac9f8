"""The DID page's writes: saving the edit form and taking a lifecycle action.

Each view is a thin caller: it parses its form, calls the service (`dids.services`)
with the GUI as the channel and the client's address, and redirects back to the
DID's page with a message (POST, redirect, GET). What may change is the services'
decision; a refusal changes nothing and is shown on the page, the input kept.

A DID outside the viewer's visibility is a 404 (as on the page); an account that
may see DIDs but change none (an accountant with *Manage DIDs* read, a user) gets
a 403 page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

from .. import services
from ..lifecycle import TRANSITIONS, Transition, refusal
from ..models import Did
from ..services import DidActionRefused, Source
from .detail import DidDetailView
from .did_forms import DidActionForm, DidEditForm, object_name

NOT_PERMITTED = "You may look at DIDs but not change them."


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class DidWriteView(DidDetailView):
    """A POST to one DID the viewer sees; its page is shown again when the change is refused."""

    http_method_names = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and request.user.can_read_dids:
            # Outside the viewer's visibility the DID does not exist, whatever the method.
            self.object = self.get_object()
            if not request.user.may_manage_dids:
                return TemplateResponse(
                    request,
                    "dids/not_authorised.html",
                    {"title": "Not authorised", "message": NOT_PERMITTED},
                    status=403,
                )
        return super().dispatch(request, *args, **kwargs)

    def page(self, **bound: Any) -> HttpResponse:
        """The DID's page as it is now, with the refused form in place of a fresh one."""
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(object=self.object, **bound))

    def back(self) -> HttpResponse:
        return HttpResponseRedirect(reverse("dids:detail", args=[self.object.pk]))


class DidEditView(DidWriteView):
    """Save the edit form: only the fields that differ from the DID as it is now."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        did: Did = self.object
        form = DidEditForm(request.POST, did=did, actor=request.user)
        if not form.is_valid():
            return self.page(edit_form=form)
        changes = form.changed_values()
        try:
            services.did_edit(
                did_id=did.pk,
                fields=changes,
                actor=request.user,
                source=Source.GUI,
                address=client_address(request),
                expected_updated_at=form.cleaned_data["updated_at"],
            )
        except DidActionRefused as refused:
            if refused.code == "stale":
                # Keep what the viewer typed, against the DID's current version: saving
                # again, after a look at the current state, is then a deliberate choice.
                form = form.with_version(self.get_object())
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            return self.page(edit_form=form)
        if changes:
            labels = ", ".join(str(form.fields[name].label) for name in changes)
            messages.success(request, f"DID {did.number} saved: {labels}.")
        else:
            messages.info(request, f"DID {did.number}: nothing to save, no field was changed.")
        return self.back()


class DidActionView(DidWriteView):
    """Take one lifecycle action; destructive ones go through a confirmation page first."""

    confirm_template = "dids/did_action_confirm.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        transition = TRANSITIONS.get(kwargs["action"])
        if transition is None:
            raise Http404("No such action.")
        did: Did = self.object
        actor: User = request.user
        why = refusal(did, transition, actor)
        if why is not None:
            # Not possible now (the page was older than the DID's state): say why, change nothing.
            messages.error(request, why)
            return self.back()
        form = DidActionForm(request.POST, did=did, transition=transition, actor=actor)
        if not form.is_valid():
            return self.page(action_form=form)
        if transition.destructive and not form.cleaned_data["confirm"]:
            return self.confirmation(did, transition, form)
        target = form.cleaned_data.get("target")
        try:
            services.did_apply(
                did_id=did.pk,
                action=transition.key,
                actor=actor,
                source=Source.GUI,
                address=client_address(request),
                target=target,
                expected_updated_at=form.cleaned_data["updated_at"],
            )
        except DidActionRefused as refused:
            if refused.code == "target":
                form.add_error("target", refused.message)
                return self.page(action_form=form)
            messages.error(request, refused.message)
            return self.back()
        if transition.target is None:
            messages.success(request, f"DID {did.number} was deleted, with its history.")
            return HttpResponseRedirect(reverse("dids:list"))
        return self.done(did, transition, target)

    def done(self, did: Did, transition: Transition, target: Any) -> HttpResponse:
        to = f" for {object_name(target)}" if target is not None else ""
        status = Did.Status(transition.target).label
        messages.success(
            self.request, f"DID {did.number}: “{transition.name}” done{to}. It is now {status}."
        )
        return self.back()

    def confirmation(self, did: Did, transition: Transition, form: DidActionForm) -> HttpResponse:
        context = self.get_context_data(object=did)
        context.update(
            title=f"{transition.label}: DID {did.number}",
            transition=transition,
            form=form,
            action_url=reverse("dids:action", args=[did.pk, transition.key]),
            detail_url=reverse("dids:detail", args=[did.pk]),
        )
        if transition.starts_closing:
            days = context["days_for_did_close"]
            context.update(closing_days=days, closing_until=timezone.now() + timedelta(days=days))
        return TemplateResponse(self.request, self.confirm_template, context)
