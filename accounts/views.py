"""Views of accounts: sign-in, the administration pages and the Generate hash tool.

Who may open a page is decided once per view (`has_access`), deny by default;
anonymous visitors never get here (LoginRequiredMiddleware sends them to sign in).
Every write goes through accounts.services.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views import View

from portal.paging import pager_context
from portal.text import is_valid_text

from . import services
from .api_hash import api_hash, hashed_parameters, settings_chain
from .audit import change_text
from .forms import (
    AccountantGroupForm,
    AccountCreateForm,
    AccountFilterForm,
    AccountForm,
    ApiPermissionGroupForm,
    ApiSettingsForm,
    HashToolForm,
    OwnPasswordChangeForm,
    PasswordResetForm,
    PortalAuthenticationForm,
    SystemSettingsForm,
    add_service_errors,
)
from .models import (
    AccountantGroup,
    ApiPermissionGroup,
    ApiSettings,
    AuditEntry,
    SystemSettings,
    User,
)


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = PortalAuthenticationForm


def not_authorised(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/not_authorised.html", {"title": "Not authorised"}, status=403)


def account_crumb(account: User) -> tuple[str, str]:
    """The breadcrumb of an account's page, for the pages under it (password, API settings):
    Home / Accounts / <account> / <page>, as in the Django admin."""
    return (account.username, reverse("accounts:account_edit", args=[account.pk]))


class PortalPage(View):
    """A page that names who may open it; everyone else gets the 403 page."""

    title = ""

    def has_access(self, user: User) -> bool:
        return False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated or not self.has_access(request.user):
            return not_authorised(request)
        return super().dispatch(request, *args, **kwargs)

    def render(self, request: HttpRequest, template: str, **context: Any) -> HttpResponse:
        context.setdefault("title", self.title)
        return render(request, template, context)


class AdminPage(PortalPage):
    def has_access(self, user: User) -> bool:
        return user.is_active and user.is_admin


def _page(request: HttpRequest, rows: QuerySet) -> Any:
    per_page = getattr(request.user, "items_per_page", 50) or 50
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Accounts -----------------------------------------------------------------

# Sortable columns of the accounts list: (sort key, header); the id breaks ties.
ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "ID"),
    ("username", "Username"),
    ("name", "Name"),
    ("role", "Role"),
    ("owner", "Owner"),
    ("active", "Active"),
    ("api_restricted", "API restricted"),
)
ACCOUNT_SORTS: dict[str, tuple[str, ...]] = {
    "id": ("pk",),
    "username": ("username",),
    "name": ("first_name", "last_name", "username"),
    "role": ("role",),
    "owner": ("owner__username",),
    "active": ("is_active",),
    "api_restricted": ("api_restricted",),
}
# A reseller lists only its own users: an Owner column would repeat its name.
ADMIN_ONLY_SORTS = frozenset({"owner"})


def _query_with(request: HttpRequest, **values: str) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in values.items():
        query[name] = value
    return query.urlencode()


class AccountListView(PortalPage):
    """Admins: every account, searchable and filtered by role. Resellers: their own users."""

    title = "Accounts"

    def has_access(self, user: User) -> bool:
        return user.may_list_accounts

    def get(self, request: HttpRequest) -> HttpResponse:
        viewer: User = request.user
        rows = User.objects.select_related("owner", "accountant_group", "api_permission_group")
        if viewer.is_admin:
            title = "Accounts"
        else:
            rows = rows.filter(owner=viewer)
            title = "My users"
        filters = AccountFilterForm(request.GET)
        if not filters.is_valid():
            rows = rows.none()  # a malformed search matches nothing (never everything)
        else:
            if filters.cleaned_data["q"]:
                q = filters.cleaned_data["q"]
                rows = rows.filter(
                    Q(username__icontains=q)
                    | Q(first_name__icontains=q)
                    | Q(last_name__icontains=q)
                    | Q(email__icontains=q)
                )
            if filters.cleaned_data["role"]:
                rows = rows.filter(role=filters.cleaned_data["role"])
        sort = request.GET.get("sort", "")
        key = sort.removeprefix("-")
        if key not in ACCOUNT_SORTS or (key in ADMIN_ONLY_SORTS and not viewer.is_admin):
            sort, key = "", "username"
        descending = sort.startswith("-")
        # Empty values first ascending, last descending, on every database (as the DIDs list).
        order = [
            F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_first=True)
            for name in (*ACCOUNT_SORTS[key], "pk")
        ]
        rows = rows.order_by(*order)
        columns = [
            {
                "label": label,
                "sort": name,
                "current": name == key and bool(sort),
                "descending": descending,
                "url": "?" + _query_with(request, sort=f"-{name}" if sort == name else name),
            }
            for name, label in ACCOUNT_COLUMNS
            if viewer.is_admin or name not in ADMIN_ONLY_SORTS
        ]
        return self.render(
            request,
            "accounts/account_list.html",
            title=title,
            filters=filters,
            columns=columns,
            sort=sort,
            editable=viewer.is_admin,
            **pager_context(request, rows, noun="account", plural="accounts"),
        )


def _after_save(request: HttpRequest, account: User) -> str:
    """As in the Django admin: Save goes back to the list, the other two buttons stay."""
    if "_continue" in request.POST:
        return reverse("accounts:account_edit", args=[account.pk])
    if "_addanother" in request.POST:
        return reverse("accounts:account_create")
    return reverse("accounts:account_list")


class AccountCreateView(AdminPage):
    title = "Add account"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, AccountCreateForm(initial={"is_active": True}))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AccountCreateForm(request.POST)
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in services.EDITABLE_USER_FIELDS}
            try:
                user = services.user_create(
                    by=request.user, password=form.cleaned_data["password"], **data
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The account {user.username} was created.")
                return HttpResponseRedirect(_after_save(request, user))
        elif all(name in form.cleaned_data for name in services.EDITABLE_USER_FIELDS):
            # Only the password pair is wrong: add the account's rules now, so that one
            # round shows everything to correct.
            data = {name: form.cleaned_data[name] for name in services.EDITABLE_USER_FIELDS}
            try:
                services.user_create_check(
                    by=request.user, password=form.cleaned_data.get("password"), **data
                )
            except ValidationError as error:
                add_service_errors(form, error)
        return self._render(request, form)

    def _render(self, request: HttpRequest, form: AccountCreateForm) -> HttpResponse:
        return self.render(
            request,
            "accounts/form_page.html",
            form=form,
            save_options=True,
            parent=("Accounts", reverse("accounts:account_list")),
        )


class AccountEditView(AdminPage):
    title = "Change account"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(User, pk=pk)
        return self._render(request, account, AccountForm(instance=account))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(User, pk=pk)
        # The instance is only the initial data: the form never writes to it.
        form = AccountForm(request.POST, instance=account)
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                services.user_update(by=request.user, user=account, fields=changed)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The account {account.username} was saved.")
                return HttpResponseRedirect(_after_save(request, account))
        return self._render(request, account, form)

    def _render(self, request: HttpRequest, account: User, form: AccountForm) -> HttpResponse:
        links = [("Reset password", reverse("accounts:account_password", args=[account.pk]))]
        if account.is_reseller:
            links.append(
                ("API settings", reverse("accounts:reseller_api_settings", args=[account.pk]))
            )
        return self.render(
            request,
            "accounts/form_page.html",
            title=f"Change account {account.username}",
            form=form,
            save_options=True,
            object_links=links,
            parent=("Accounts", reverse("accounts:account_list")),
        )


class AccountPasswordView(AdminPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(User, pk=pk)
        return self._render(request, account, PasswordResetForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(User, pk=pk)
        form = PasswordResetForm(request.POST)
        if form.is_valid():
            try:
                services.user_set_password(
                    by=request.user, user=account, password=form.cleaned_data["password"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if account.pk == request.user.pk:
                    # Keep the admin signed in after changing their own password.
                    update_session_auth_hash(request, account)
                messages.success(request, f"The password of {account.username} was changed.")
                return HttpResponseRedirect(reverse("accounts:account_edit", args=[account.pk]))
        return self._render(request, account, form)

    def _render(self, request: HttpRequest, account: User, form: PasswordResetForm):
        return self.render(
            request,
            "accounts/form_page.html",
            title=f"Reset the password of {account.username}",
            form=form,
            submit_label="Change password",
            parent=("Accounts", reverse("accounts:account_list")),
            account_crumb=account_crumb(account),
        )


class OwnPasswordView(PortalPage):
    """Every signed-in account changes its own password here."""

    title = "Change my password"

    def has_access(self, user: User) -> bool:
        return user.is_active

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, OwnPasswordChangeForm(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OwnPasswordChangeForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.user_set_password(
                    by=request.user, user=request.user, password=form.cleaned_data["password"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                # Other sessions of this account end; this one stays signed in.
                update_session_auth_hash(request, request.user)
                messages.success(request, "Your password was changed.")
                return HttpResponseRedirect(request.path)
        return self._render(request, form)

    def _render(self, request: HttpRequest, form: OwnPasswordChangeForm) -> HttpResponse:
        return self.render(
            request, "accounts/form_page.html", form=form, submit_label="Change my password"
        )


# --- Groups -------------------------------------------------------------------


class _GroupPages:
    """What differs between accountant groups and API permission groups."""

    model: type[AccountantGroup] | type[ApiPermissionGroup]
    form_class: type[AccountantGroupForm] | type[ApiPermissionGroupForm]
    noun = ""
    plural = ""
    url_prefix = ""

    def levels_of(self, group: Any) -> dict[str, str]:
        raise NotImplementedError

    def create(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def update(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def delete(self, **kwargs: Any) -> None:
        raise NotImplementedError

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"accounts:{self.url_prefix}_{name}", args=args)


class _AccountantGroupPages(_GroupPages):
    model = AccountantGroup
    form_class = AccountantGroupForm
    noun = "accountant group"
    plural = "Accountant groups"
    url_prefix = "accountant_group"

    def levels_of(self, group: AccountantGroup) -> dict[str, str]:
        return {key: group.right(key) for key in self.form_class.registry}

    def create(self, **kwargs: Any) -> AccountantGroup:
        return services.accountant_group_create(
            by=kwargs["by"], name=kwargs["name"], rights=kwargs["levels"]
        )

    def update(self, **kwargs: Any) -> AccountantGroup:
        return services.accountant_group_update(
            by=kwargs["by"], group=kwargs["group"], name=kwargs["name"], rights=kwargs["levels"]
        )

    def delete(self, **kwargs: Any) -> None:
        services.accountant_group_delete(by=kwargs["by"], group=kwargs["group"])


class _ApiPermissionGroupPages(_GroupPages):
    model = ApiPermissionGroup
    form_class = ApiPermissionGroupForm
    noun = "API permission group"
    plural = "API permission groups"
    url_prefix = "api_group"

    def levels_of(self, group: ApiPermissionGroup) -> dict[str, str]:
        return {key: group.method(key) for key in self.form_class.registry}

    def create(self, **kwargs: Any) -> ApiPermissionGroup:
        return services.api_permission_group_create(
            by=kwargs["by"], name=kwargs["name"], methods=kwargs["levels"]
        )

    def update(self, **kwargs: Any) -> ApiPermissionGroup:
        return services.api_permission_group_update(
            by=kwargs["by"], group=kwargs["group"], name=kwargs["name"], methods=kwargs["levels"]
        )

    def delete(self, **kwargs: Any) -> None:
        services.api_permission_group_delete(by=kwargs["by"], group=kwargs["group"])


class GroupPage(AdminPage):
    pages: _GroupPages = _AccountantGroupPages()  # set per URL by _group_views()


class GroupListView(GroupPage):
    def get(self, request: HttpRequest) -> HttpResponse:
        pages = self.pages
        rows = []
        groups = pages.model.objects.annotate(member_count=Count("members"))
        for group in groups.order_by("name", "pk"):
            rows.append(
                {
                    "group": group,
                    "url": pages.url("edit", group.pk),
                    "levels": [
                        (pages.form_class.registry[key], level)
                        for key, level in pages.levels_of(group).items()
                    ],
                }
            )
        return self.render(
            request,
            "accounts/group_list.html",
            title=pages.plural,
            rows=rows,
            columns=list(pages.form_class.registry.values()),
            add_url=pages.url("create"),
            noun=pages.noun,
        )


class GroupCreateView(GroupPage):
    def get(self, request: HttpRequest) -> HttpResponse:
        form_class = self.pages.form_class
        initial = {"name": "", **{key: form_class.lowest_level(key) for key in form_class.registry}}
        return self._render(request, self.pages.form_class(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.pages.form_class(request.POST)
        if form.is_valid():
            try:
                group = self.pages.create(
                    by=request.user, name=form.cleaned_data["name"], levels=form.levels()
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The {self.pages.noun} {group.name} was created.")
                return HttpResponseRedirect(self.pages.url("list"))
        return self._render(request, form)

    def _render(self, request: HttpRequest, form: Any) -> HttpResponse:
        return self.render(
            request,
            "accounts/form_page.html",
            title=f"Add {self.pages.noun}",
            form=form,
            submit_label="Save",
            parent=(self.pages.plural, self.pages.url("list")),
        )


class GroupEditView(GroupPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = get_object_or_404(self.pages.model, pk=pk)
        initial = {"name": group.name} | self.pages.levels_of(group)
        return self._render(request, group, self.pages.form_class(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = get_object_or_404(self.pages.model, pk=pk)
        form = self.pages.form_class(request.POST)
        if form.is_valid():
            try:
                self.pages.update(
                    by=request.user,
                    group=group,
                    name=form.cleaned_data["name"],
                    levels=form.levels(),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"The {self.pages.noun} was saved.")
                return HttpResponseRedirect(self.pages.url("list"))
        return self._render(request, group, form)

    def _render(self, request: HttpRequest, group: Any, form: Any) -> HttpResponse:
        return self.render(
            request,
            "accounts/form_page.html",
            title=f"Change {self.pages.noun} {group.name}",
            form=form,
            submit_label="Save",
            object_links=[("Delete", self.pages.url("delete", group.pk))],
            parent=(self.pages.plural, self.pages.url("list")),
        )


# A group that blocks its deletion lists this many of its members, each a link to fix.
MEMBERS_SHOWN = 20


class GroupDeleteView(GroupPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = get_object_or_404(self.pages.model, pk=pk)
        return self._render(request, group, error=None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = get_object_or_404(self.pages.model, pk=pk)
        try:
            self.pages.delete(by=request.user, group=group)
        except ValidationError as error:
            return self._render(request, group, error=error.messages[0], status=400)
        messages.success(request, f"The {self.pages.noun} {group.name} was deleted.")
        return HttpResponseRedirect(self.pages.url("list"))

    def _render(
        self, request: HttpRequest, group: Any, *, error: str | None, status: int = 200
    ) -> HttpResponse:
        members = list(group.members.order_by("username")[:MEMBERS_SHOWN])
        member_count = group.members.count() if len(members) == MEMBERS_SHOWN else len(members)
        response = self.render(
            request,
            "accounts/confirm_delete.html",
            title=f"Delete {self.pages.noun} {group.name}",
            group=group,
            error=error,
            noun=self.pages.noun,
            members=members,
            member_count=member_count,
            more_count=member_count - len(members),
            cancel_url=self.pages.url("edit", group.pk),
            parent=(self.pages.plural, self.pages.url("list")),
        )
        response.status_code = status
        return response


def _group_views(pages: _GroupPages) -> dict[str, Any]:
    return {
        "list": GroupListView.as_view(pages=pages),
        "create": GroupCreateView.as_view(pages=pages),
        "edit": GroupEditView.as_view(pages=pages),
        "delete": GroupDeleteView.as_view(pages=pages),
    }


accountant_group_views = _group_views(_AccountantGroupPages())
api_group_views = _group_views(_ApiPermissionGroupPages())


# --- Settings -----------------------------------------------------------------


class _ApiSettingsPage(PortalPage):
    """The API settings of the system or of one reseller; the secret is shown once."""

    def settings_owner(self, request: HttpRequest, **kwargs: Any) -> User | None:
        raise NotImplementedError

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        reseller = self.settings_owner(request, **kwargs)
        current = self._current(reseller)
        initial = {
            "allow_api": current.allow_api,
            "allow_get_api": current.allow_get_api,
            "disable_hash_checking": current.disable_hash_checking,
        }
        form = ApiSettingsForm(initial=initial, system=reseller is None)
        return self._render(request, reseller, current, form)

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        reseller = self.settings_owner(request, **kwargs)
        form = ApiSettingsForm(request.POST, system=reseller is None)
        if form.is_valid():
            new_secret = form.new_secret_value()
            try:
                saved = services.api_settings_update(
                    by=request.user,
                    reseller=reseller,
                    allow_api=form.cleaned_data["allow_api"],
                    disable_hash_checking=form.cleaned_data["disable_hash_checking"],
                    allow_get_api=(
                        form.cleaned_data["allow_get_api"] if reseller is None else None
                    ),
                    new_secret=new_secret,
                    remove_secret=form.cleaned_data["remove_secret"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if new_secret is None:
                    messages.success(request, "The API settings were saved.")
                    return HttpResponseRedirect(request.path)
                # Shown once, in this response only; it is never stored in the session.
                response = self.render(
                    request,
                    "accounts/api_secret_shown.html",
                    title=self._title(reseller),
                    secret=saved.api_secret_key,
                    back_url=request.path,
                    parent=self._parent(reseller),
                    account_crumb=self._account_crumb(reseller),
                )
                add_never_cache_headers(response)
                return response
        return self._render(request, reseller, self._current(reseller), form)

    @staticmethod
    def _current(reseller: User | None) -> ApiSettings:
        if reseller is None:
            return ApiSettings.objects.system()
        return ApiSettings.objects.for_reseller(reseller)

    @staticmethod
    def _title(reseller: User | None) -> str:
        if reseller is None:
            return "System API settings"
        return f"API settings of {reseller.display_name}"

    def _parent(self, reseller: User | None) -> tuple[str, str] | None:
        return None

    def _account_crumb(self, reseller: User | None) -> tuple[str, str] | None:
        return None

    def _render(
        self,
        request: HttpRequest,
        reseller: User | None,
        current: ApiSettings,
        form: ApiSettingsForm,
        status: int = 200,
    ) -> HttpResponse:
        response = self.render(
            request,
            "accounts/api_settings.html",
            title=self._title(reseller),
            form=form,
            masked_secret=current.masked_secret,
            system_settings=ApiSettings.objects.system() if reseller is not None else None,
            parent=self._parent(reseller),
            account_crumb=self._account_crumb(reseller),
        )
        response.status_code = status
        return response


class ApiSettingsView(_ApiSettingsPage):
    """/settings/api/: the system's settings for an admin, a reseller's own for a reseller."""

    def has_access(self, user: User) -> bool:
        return user.may_edit_api_settings

    def settings_owner(self, request: HttpRequest, **kwargs: Any) -> User | None:
        return None if request.user.is_admin else request.user


class ResellerApiSettingsView(_ApiSettingsPage):
    """An admin edits one reseller's API settings."""

    def has_access(self, user: User) -> bool:
        return user.is_active and user.is_admin

    def settings_owner(self, request: HttpRequest, **kwargs: Any) -> User | None:
        reseller = get_object_or_404(User, pk=kwargs["pk"])
        if not reseller.is_reseller:
            raise Http404("Not a reseller.")
        return reseller

    def _parent(self, reseller: User | None) -> tuple[str, str] | None:
        return ("Accounts", reverse("accounts:account_list"))

    def _account_crumb(self, reseller: User | None) -> tuple[str, str] | None:
        return account_crumb(reseller) if reseller is not None else None


class SystemSettingsView(AdminPage):
    title = "System settings"

    def get(self, request: HttpRequest) -> HttpResponse:
        current = SystemSettings.load()
        form = SystemSettingsForm(
            initial={
                "days_for_did_close": current.days_for_did_close,
                "resellers_can_add_their_own_dids": current.resellers_can_add_their_own_dids,
            }
        )
        return self._render(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SystemSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.system_settings_update(
                    by=request.user,
                    days_for_did_close=form.cleaned_data["days_for_did_close"],
                    resellers_can_add_their_own_dids=form.cleaned_data[
                        "resellers_can_add_their_own_dids"
                    ],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "The system settings were saved.")
                return HttpResponseRedirect(request.path)
        return self._render(request, form)

    def _render(self, request: HttpRequest, form: SystemSettingsForm) -> HttpResponse:
        return self.render(request, "accounts/form_page.html", form=form, submit_label="Save")


# --- Generate hash --------------------------------------------------------------


def with_hash(pasted: str, params: dict[str, str], digest: str) -> str:
    """The pasted request with `hash` set, in the shape it was pasted in, ready to send.

    A URL keeps its scheme, host and path (an integrator copies it whole); a JSON
    body stays a JSON body (a query string would not be what it sends); a query
    string or name=value lines become a query string.
    """
    query = {name: value for name, value in params.items() if name != "hash"}
    query["hash"] = digest
    text = pasted.strip()
    if text.startswith("{"):
        return json.dumps(query, ensure_ascii=False)
    location = text.split("#", 1)[0].split("?", 1)[0] if "?" in text else ""
    return f"{location}?{urlencode(query)}" if location else urlencode(query)


def named_method(text: str, params: dict[str, str]) -> str:
    """The API method a pasted request calls: the last segment of its URL's path
    (`/billing/api/did_create`), else its `action`; dids_get when it names none.
    An alias names its canonical method."""
    from dids.api.methods import canonical_name

    text = text.strip()
    if not text.startswith("{"):
        path = text.split("#", 1)[0].split("?", 1)[0]
        if "/" in path:
            name = canonical_name(path.rstrip("/").rsplit("/", 1)[-1])
            if name is not None:
                return name
    return canonical_name(params.get("action", "")) or "dids_get"


class HashToolView(PortalPage):
    """The hash a request needs, computed by the same code that the API checks it with."""

    title = "Generate hash"

    def has_access(self, user: User) -> bool:
        return user.may_use_hash_tool

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, HashToolForm(viewer=request.user), None)

    def post(self, request: HttpRequest) -> HttpResponse:
        # A POST form: a pasted request of up to 20,000 characters fits in a body, not in
        # a URL (servers refuse URLs beyond a few KB). It writes nothing and shows no secret.
        viewer: User = request.user
        form = HashToolForm(request.POST, viewer=viewer)
        result = self._result(viewer, form) if form.is_valid() else None
        return self._render(request, form, result)

    def _result(self, viewer: User, form: HashToolForm) -> dict[str, Any]:
        # The methods declare their hashed parameters beside themselves (dids.api.methods).
        from dids.api.methods import hashed_parameters_of

        params: dict[str, str] = form.cleaned_data["request"]
        chosen: User | None = form.cleaned_data.get("settings_of")
        method = form.cleaned_data.get("method") or named_method(
            form.data.get("request", ""), params
        )
        rule = hashed_parameters_of(method)
        if viewer.is_admin:
            chain = [ApiSettings.objects.system()]
            if chosen is not None:
                chain.append(ApiSettings.objects.for_reseller(chosen))
        else:
            chain = settings_chain(viewer)
        effective = chain[-1]
        secret = effective.api_secret_key
        notes: list[str] = []
        if not secret:
            notes.append(
                f"No API Secret Key is set in these settings: {method} answers "
                "“API must have Secret Key” unless hash checking is disabled."
            )
        if effective.disable_hash_checking:
            notes.append("Hash checking is disabled in these settings: the hash is not needed.")
        if not all(s.allow_api for s in chain):
            notes.append(f"Allow API is off: {method} answers “API Requests are disabled”.")
        if viewer.is_admin and params.get("u"):
            account = User.objects.filter(username=params["u"]).first()
            if account is not None and account.settings_owner != chosen:
                owner = account.settings_owner
                # Name the choice as the “Settings of” list shows it.
                if owner is None:
                    whose, pick = "the system's", "“The system”"
                elif owner.pk == account.pk:
                    whose, pick = "its own", f"“{owner}”"
                else:
                    whose, pick = f"its reseller {owner.username}'s", f"“{owner}”"
                notes.append(
                    f"The account {account.username} uses {whose} API settings: "
                    f"pick {pick} under “Settings of” for its hash."
                )
        pairs = hashed_parameters(params, rule)
        digest = api_hash(params, secret, rule) if secret else ""
        request_with_hash = (
            with_hash(form.data.get("request", ""), params, digest) if digest else ""
        )
        return {
            "method": method,
            "pairs": pairs,
            "hash_string_shape": "".join(value for _, value in pairs) + "<secret key>",
            "hash": digest,
            "request_with_hash": request_with_hash,
            "notes": notes,
            "settings_label": "the system"
            if effective.reseller_id is None
            else str(effective.reseller),
            "masked_secret": effective.masked_secret,
        }

    def _render(
        self, request: HttpRequest, form: HashToolForm, result: dict[str, Any] | None
    ) -> HttpResponse:
        response = self.render(request, "accounts/hash_tool.html", form=form, result=result)
        add_never_cache_headers(response)
        return response


# --- Audit log ----------------------------------------------------------------


class AuditLogView(AdminPage):
    title = "Audit log"

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = AuditEntry.objects.select_related("actor")
        object_type = request.GET.get("type", "")
        types = sorted(set(AuditEntry.objects.values_list("object_type", flat=True)))
        filter_error = ""
        if object_type and not is_valid_text(object_type):
            # Not a type at all (a NUL cannot even be compared on PostgreSQL): nothing matches.
            filter_error = "Invalid type: expected text"
            rows = rows.none()
        elif object_type:
            rows = rows.filter(object_type=object_type)
        page_obj = _page(request, rows.order_by("-created_at", "-id"))
        entries = [
            {"entry": entry, "changes": [change_text(c) for c in entry.changes]}
            for entry in page_obj
        ]
        return self.render(
            request,
            "accounts/audit_log.html",
            page_obj=page_obj,
            entries=entries,
            types=types,
            object_type=object_type,
            filter_error=filter_error,
            query=_query_without_page(request),
        )
