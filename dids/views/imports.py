"""Import DIDs from a CSV file: upload → the dry run, row by row → "Import", which applies
exactly that dry run (dids.imports; a fresh plan must have the same digest, else the
new plan is shown instead and nothing is written)."""

from __future__ import annotations

import hmac
import io
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from accounts.forms import client_address
from accounts.models import User

from ..imports import (
    CREATE,
    GUI_MAX_BYTES,
    GUI_MAX_ROWS,
    IGNORED_COLUMNS,
    OUTCOMES,
    READ_COLUMNS,
    REJECT,
    UNCHANGED,
    UPDATE,
    ImportRefused,
    check_size,
    run_import,
)
from ..models import DidImport
from .create import forbidden
from .detail import format_change

KEPT = timedelta(days=1)  # how long an uploaded file and its dry run stay
ROWS_PER_PAGE = 200
OUTCOME_LABELS = {
    CREATE: "Create",
    UPDATE: "Update",
    UNCHANGED: "Unchanged",
    REJECT: "Rejected",
}
# What each status in a file does to a DID (dids.imports.import_action), for the page.
STATUS_MOVES = (
    ("Free", "make free, from reserved, active, closed or terminated"),
    ("Closed", "close, from active"),
    ("Active", "re-activate, from closed (back on its device)"),
    ("Terminated", "terminate, from free (not held by a reseller) or closed"),
    ("Reserved; Active from free or reserved", "rejected: that needs a user, device or dial plan"),
)


class CanImportDidsMixin:
    """Whoever may change DIDs (a row that creates needs the right to create, which the
    services check per row); others get a 403 page that says why."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User = request.user
        if not user.may_manage_dids:
            if user.is_accountant and user.can_read_dids:
                why = "Importing DIDs needs the Manage DIDs right at write level."
            else:
                why = "You may not change DIDs."
            return forbidden(request, why)
        return super().dispatch(request, *args, **kwargs)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"At most {GUI_MAX_ROWS:,} rows and {GUI_MAX_BYTES // 1_048_576} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )


class DidImportView(CanImportDidsMixin, View):
    """Upload a file: its dry run is computed and stored, and shown on its own page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, UploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form)
        upload = form.cleaned_data["file"]
        try:
            check_size(upload.size, GUI_MAX_BYTES)
            content = upload.read()
            report = run_import(
                io.BytesIO(content), actor=request.user, apply=False, max_rows=GUI_MAX_ROWS
            )
        except ImportRefused as refused:
            form.add_error("file", f"{refused.message} Nothing was imported.")
            return self.render(request, form)
        DidImport.objects.filter(created_at__lt=timezone.now() - KEPT).delete()
        stored = DidImport.objects.create(
            by=request.user,
            filename=(upload.name or "")[:255],
            content=content,
            file_digest=report.layout.file_digest,
            plan=report.as_plan(),
            plan_digest=report.digest,
        )
        return HttpResponseRedirect(reverse("dids:import_plan", args=[stored.pk]))

    def render(self, request: HttpRequest, form: UploadForm) -> HttpResponse:
        context = {
            "title": "Import DIDs",
            "form": form,
            "columns": READ_COLUMNS.items(),
            "ignored": IGNORED_COLUMNS,
            "status_moves": STATUS_MOVES,
            "max_rows": GUI_MAX_ROWS,
            "max_mb": GUI_MAX_BYTES // 1_048_576,
        }
        return TemplateResponse(request, "dids/did_import.html", context)


class DidImportPlanView(CanImportDidsMixin, View):
    """A file's dry run, row by row; "Import" applies it. After the import: what was done."""

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        stored = self.stored(request, pk)
        plan = stored.result if stored.state == DidImport.State.APPLIED else stored.plan
        show = request.GET.get("show", "")
        rows = plan.get("rows", [])
        if show in OUTCOMES:
            rows = [row for row in rows if row["outcome"] == show]
        page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        counts = plan.get("counts", {})
        context = {
            "title": "Import DIDs: imported" if stored.applied_at else "Import DIDs: dry run",
            "stored": stored,
            "applied": stored.state == DidImport.State.APPLIED,
            "counts": [
                (outcome, OUTCOME_LABELS[outcome], counts.get(outcome, 0)) for outcome in OUTCOMES
            ],
            "total": sum(counts.values()),
            "to_write": counts.get(CREATE, 0) + counts.get(UPDATE, 0),
            "not_applied": sum(1 for row in plan.get("rows", []) if row.get("error")),
            "show": show,
            "page": page,
            "rows": [self.shown(row) for row in page.object_list],
            "columns": plan.get("columns", []),
            "ignored": plan.get("ignored", []),
            "delimiter": plan.get("delimiter", ","),
        }
        return TemplateResponse(request, "dids/did_import_plan.html", context)

    def post(self, request: HttpRequest, pk: Any) -> HttpResponse:
        stored = self.stored(request, pk)
        here = reverse("dids:import_plan", args=[stored.pk])
        shown = request.POST.get("digest", "")
        if stored.state == DidImport.State.APPLIED:
            messages.info(request, "This file was imported already.")
            return HttpResponseRedirect(here)
        if not hmac.compare_digest(shown, stored.plan_digest):
            messages.warning(
                request,
                "This page showed an older dry run of the file. Below is the current one; "
                "nothing was imported.",
            )
            return HttpResponseRedirect(here)
        claimed = DidImport.objects.filter(
            pk=stored.pk, state=DidImport.State.PLANNED, plan_digest=shown
        ).update(state=DidImport.State.APPLYING)
        if not claimed:
            messages.warning(request, "This file is being imported already.")
            return HttpResponseRedirect(here)
        try:
            report = run_import(
                io.BytesIO(bytes(stored.content)),
                actor=request.user,
                apply=True,
                address=client_address(request),
                max_rows=GUI_MAX_ROWS,
                expected_digest=stored.plan_digest,
            )
        except ImportRefused as refused:
            self.release(stored)
            messages.error(request, f"{refused.message} Nothing was imported.")
            return HttpResponseRedirect(here)
        except BaseException:
            self.release(stored)
            raise
        if report.stale:
            stored.plan, stored.plan_digest = report.as_plan(), report.digest
            stored.state = DidImport.State.PLANNED
            stored.save(update_fields=["plan", "plan_digest", "state"])
            messages.warning(
                request,
                "The DIDs changed since this dry run was made. Below is a new dry run against "
                "the data as it is now; nothing was imported. Check it, then import again.",
            )
            return HttpResponseRedirect(here)
        stored.state, stored.applied_at = DidImport.State.APPLIED, timezone.now()
        stored.result = report.as_plan()
        stored.save(update_fields=["state", "applied_at", "result"])
        messages.success(request, report.summary())
        return HttpResponseRedirect(here)

    @staticmethod
    def stored(request: HttpRequest, pk: Any) -> DidImport:
        """The account's own upload, while it is kept; anything else does not exist."""
        stored = DidImport.objects.filter(
            pk=pk, by=request.user, created_at__gte=timezone.now() - KEPT
        ).first()
        if stored is None:
            raise Http404("No such import.")
        return stored

    @staticmethod
    def release(stored: DidImport) -> None:
        DidImport.objects.filter(pk=stored.pk, state=DidImport.State.APPLYING).update(
            state=DidImport.State.PLANNED
        )

    @staticmethod
    def shown(row: dict[str, Any]) -> dict[str, Any]:
        changes = row.get("changes") or {}
        return {
            **row,
            "label": OUTCOME_LABELS.get(row["outcome"], row["outcome"]),
            "changes": [
                (key, format_change(change[0]), format_change(change[1]))
                for key, change in changes.items()
                if isinstance(change, list) and len(change) == 2
            ],
        }
