"""The pages of providers, devices and dial plans: list, add, change, delete.

Who sees a row is `<Model>.objects.visible_to(viewer)` (outside it: 404), who may change
it `manageable_by(viewer)` (visible but not manageable: the page is read-only and a
write is a 403); every write goes through dids.catalog, which checks again and writes
the audit log. Each page links to the DIDs that use the object (`/dids/?search_device=7`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from accounts.forms import add_service_errors
from accounts.models import User
from accounts.views import not_authorised
from portal.paging import pager_context

from .. import catalog
from ..catalog_forms import DeviceForm, DialPlanForm, ProviderForm
from ..models import Device, DialPlan, Did, Provider
from ..overview import dids_url


def _owner_text(owner: User | None) -> str:
    return "System" if owner is None else owner.display_name


@dataclass(frozen=True)
class CatalogKind:
    """What differs between the three kinds of page."""

    key: str  # URL names: catalog:<key>_list, …
    service: catalog.Kind
    noun: str
    plural: str
    model: type[Model]
    form_class: type[forms.Form]
    did_field: str  # the DID's foreign key to it
    did_param: str  # the DIDs list's parameter for it
    may_open: Callable[[User], bool]
    may_add: Callable[[User], bool]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]
    search_fields: tuple[str, ...]
    order: tuple[str, ...]
    related: tuple[str, ...]
    # Columns after the name: (header, value of a row).
    columns: tuple[tuple[str, Callable[[Any], str]], ...] = field(default=())
    initial: Callable[[Any], dict] = lambda obj: {}
    facts: Callable[[Any], list[tuple[str, str]]] = lambda obj: []

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"catalog:{self.key}_{name}", args=args)

    def visible(self, viewer: User) -> QuerySet:
        return self.model.objects.visible_to(viewer).select_related(*self.related)

    def dids_link(self, obj: Model) -> str:
        return dids_url(**{self.did_param: obj.pk})


PROVIDERS = CatalogKind(
    key="provider",
    service=catalog.PROVIDERS,
    noun="provider",
    plural="Providers",
    model=Provider,
    form_class=ProviderForm,
    did_field="provider",
    did_param="search_provider",
    may_open=lambda viewer: viewer.can_read_dids and viewer.may_filter_by_provider,
    may_add=catalog.may_add_provider,
    create=lambda by, data: catalog.provider_create(by=by, **data),
    update=lambda by, obj, data: catalog.provider_update(
        by=by, provider=obj, name=data["name"], owner=data.get("owner", obj.owner)
    ),
    delete=lambda by, obj: catalog.provider_delete(by=by, provider=obj),
    search_fields=("name",),
    order=("name", "id"),
    related=("owner",),
    columns=(("Owner", lambda p: _owner_text(p.owner)),),
    initial=lambda p: {"name": p.name, "owner": p.owner_id},
    facts=lambda p: [("Name", p.name), ("Owner", _owner_text(p.owner))],
)

DEVICES = CatalogKind(
    key="device",
    service=catalog.DEVICES,
    noun="device",
    plural="Devices",
    model=Device,
    form_class=DeviceForm,
    did_field="device",
    did_param="search_device",
    may_open=lambda viewer: viewer.can_read_dids,
    may_add=catalog.may_add_device,
    create=lambda by, data: catalog.device_create(by=by, **data),
    update=lambda by, obj, data: catalog.device_update(by=by, device=obj, **data),
    delete=lambda by, obj: catalog.device_delete(by=by, device=obj),
    search_fields=("name", "extension", "type", "user__username"),
    order=("type", "name", "extension", "id"),
    related=("user",),
    columns=(
        ("Type", lambda d: d.type),
        ("Extension", lambda d: d.extension),
        ("User", lambda d: d.user.display_name),
    ),
    initial=lambda d: {
        "type": d.type,
        "name": d.name,
        "extension": d.extension,
        "user": d.user_id,
    },
    facts=lambda d: [
        ("Device", d.display),
        ("Type", d.type),
        ("Name", d.name),
        ("Extension", d.extension),
        ("User", d.user.display_name),
    ],
)

DIAL_PLANS = CatalogKind(
    key="dial_plan",
    service=catalog.DIAL_PLANS,
    noun="dial plan",
    plural="Dial plans",
    model=DialPlan,
    form_class=DialPlanForm,
    did_field="dial_plan",
    did_param="search_dialplan",
    may_open=lambda viewer: viewer.sees_all_dids or (viewer.is_active and viewer.is_reseller),
    may_add=catalog.may_add_dial_plan,
    create=lambda by, data: catalog.dial_plan_create(by=by, **data),
    update=lambda by, obj, data: catalog.dial_plan_update(
        by=by,
        dial_plan=obj,
        name=data["name"],
        type=data["type"],
        owner=data.get("owner", obj.owner),
    ),
    delete=lambda by, obj: catalog.dial_plan_delete(by=by, dial_plan=obj),
    search_fields=("name", "type"),
    order=("name", "type", "id"),
    related=("owner",),
    columns=(("Type", lambda p: p.type), ("Owner", lambda p: _owner_text(p.owner))),
    initial=lambda p: {"name": p.name, "type": p.type, "owner": p.owner_id},
    facts=lambda p: [("Name", p.name), ("Type", p.type), ("Owner", _owner_text(p.owner))],
)

KINDS = (PROVIDERS, DEVICES, DIAL_PLANS)


def did_counts(kind: CatalogKind, viewer: User, objects: list[Model]) -> dict[int, int]:
    """How many of the viewer's DIDs use each object: what each row's link lists."""
    if not objects:
        return {}
    rows = (
        Did.objects.visible_to(viewer)
        .filter(**{f"{kind.did_field}_id__in": [obj.pk for obj in objects]})
        .order_by()
        .values_list(f"{kind.did_field}_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


class CatalogPage(View):
    kind: CatalogKind = DEVICES  # set per URL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.kind.may_open(request.user):
            return not_authorised(request)
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied:
            return not_authorised(request)

    def object(self, pk: int) -> Any:
        obj = self.kind.visible(self.request.user).filter(pk=pk).first()
        if obj is None:
            raise Http404(f"No such {self.kind.noun}.")
        return obj

    def manageable(self, obj: Model) -> bool:
        return self.kind.model.objects.manageable_by(self.request.user).filter(pk=obj.pk).exists()

    def parent(self) -> tuple[str, str]:
        return (self.kind.plural, self.kind.url("list"))


class CatalogListView(CatalogPage):
    def get(self, request: HttpRequest) -> HttpResponse:
        kind, viewer = self.kind, request.user
        rows = kind.visible(viewer)
        q = request.GET.get("q", "").strip()[:100]
        if q:
            condition = Q()
            for name in kind.search_fields:
                condition |= Q(**{f"{name}__icontains": q})
            if q.isdigit() and len(q) < 19:
                condition |= Q(pk=int(q))
            rows = rows.filter(condition)
        context = pager_context(
            request, rows.order_by(*kind.order), noun=kind.noun, plural=kind.noun + "s"
        )
        objects = list(context["page_obj"])
        counts = did_counts(kind, viewer, objects)
        context.update(
            title=kind.plural,
            kind=kind,
            q=q,
            headers=[header for header, _ in kind.columns],
            rows=[
                {
                    "obj": obj,
                    "url": kind.url("edit", obj.pk),
                    "cells": [value(obj) for _, value in kind.columns],
                    "dids": counts.get(obj.pk, 0),
                    "dids_url": kind.dids_link(obj),
                }
                for obj in objects
            ],
            add_url=kind.url("create") if kind.may_add(viewer) else None,
        )
        return render(request, "dids/catalog_list.html", context)


def _next_url(request: HttpRequest, kind: CatalogKind, obj: Model) -> str:
    """Where a save leads, as in the Django admin: the list, the object again, a new form."""
    if "_continue" in request.POST:
        return kind.url("edit", obj.pk)
    if "_addanother" in request.POST:
        return kind.url("create")
    return kind.url("list")


class CatalogCreateView(CatalogPage):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not self.kind.may_add(request.user):
            return not_authorised(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, self.kind.form_class(viewer=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        kind = self.kind
        form = kind.form_class(request.POST, viewer=request.user)
        if form.is_valid():
            try:
                obj = kind.create(request.user, form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The {kind.noun} {obj} was added.")
                return HttpResponseRedirect(_next_url(request, kind, obj))
        return self._render(request, form, status=400 if form.is_bound else 200)

    def _render(self, request: HttpRequest, form: forms.Form, status: int = 200) -> HttpResponse:
        return render(
            request,
            "dids/catalog_form.html",
            {
                "title": f"Add {self.kind.noun}",
                "form": form,
                "kind": self.kind,
                "parent": self.parent(),
                "save_options": True,
                "device_types": catalog.COMMON_DEVICE_TYPES,
            },
            status=status,
        )


class CatalogEditView(CatalogPage):
    """The object's page: a form for those who may change it, its facts for the others."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.object(pk)
        if not self.manageable(obj):
            return self._render_read_only(request, obj)
        form = self.kind.form_class(initial=self.kind.initial(obj), viewer=request.user)
        return self._render(request, obj, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.object(pk)
        if not self.manageable(obj):
            return not_authorised(request)
        kind = self.kind
        form = kind.form_class(request.POST, viewer=request.user)
        if form.is_valid():
            try:
                saved = kind.update(request.user, obj, form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The {kind.noun} {saved} was saved.")
                return HttpResponseRedirect(_next_url(request, kind, saved))
        return self._render(request, obj, form, status=400)

    def _links(self, obj: Model, *, manageable: bool) -> list[tuple[str, str]]:
        count = did_counts(self.kind, self.request.user, [obj]).get(obj.pk, 0)
        links = [(f"Its DIDs ({count})", self.kind.dids_link(obj))]
        if manageable:
            links.append(("Delete", self.kind.url("delete", obj.pk)))
        return links

    def _render(
        self, request: HttpRequest, obj: Model, form: forms.Form, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "dids/catalog_form.html",
            {
                "title": f"Change {self.kind.noun} {obj}",
                "form": form,
                "kind": self.kind,
                "object": obj,
                "object_links": self._links(obj, manageable=True),
                "parent": self.parent(),
                "save_options": True,
                "device_types": catalog.COMMON_DEVICE_TYPES,
            },
            status=status,
        )

    def _render_read_only(self, request: HttpRequest, obj: Model) -> HttpResponse:
        return render(
            request,
            "dids/catalog_detail.html",
            {
                "title": f"{self.kind.noun.capitalize()} {obj}",
                "kind": self.kind,
                "object": obj,
                "facts": self.kind.facts(obj),
                "object_links": self._links(obj, manageable=False),
                "parent": self.parent(),
            },
        )


class CatalogDeleteView(CatalogPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.object(pk)
        if not self.manageable(obj):
            return not_authorised(request)
        return self._render(request, obj, in_use=catalog.dids_using(self.kind.service, obj))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.object(pk)
        if not self.manageable(obj):
            return not_authorised(request)
        name = str(obj)
        try:
            self.kind.delete(request.user, obj)
        except catalog.InUse as error:
            return self._render(request, obj, in_use=error.count, status=400)
        messages.success(request, f"The {self.kind.noun} {name} was deleted.")
        return HttpResponseRedirect(self.kind.url("list"))

    def _render(
        self, request: HttpRequest, obj: Model, *, in_use: int, status: int = 200
    ) -> HttpResponse:
        visible = did_counts(self.kind, request.user, [obj]).get(obj.pk, 0) if in_use else 0
        return render(
            request,
            "dids/catalog_delete.html",
            {
                "title": f"Delete {self.kind.noun} {obj}",
                "kind": self.kind,
                "object": obj,
                "in_use": in_use,
                "in_use_visible": visible,
                "dids_url": self.kind.dids_link(obj),
                "cancel_url": self.kind.url("edit", obj.pk),
                "parent": self.parent(),
            },
            status=status,
        )


def catalog_views(kind: CatalogKind) -> dict[str, Callable]:
    return {
        "list": CatalogListView.as_view(kind=kind),
        "create": CatalogCreateView.as_view(kind=kind),
        "edit": CatalogEditView.as_view(kind=kind),
        "delete": CatalogDeleteView.as_view(kind=kind),
    }
