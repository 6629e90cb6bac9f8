"""Template context shared by every portal page: branding and the role's navigation."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from dids.services import creation_refusal
from dids.views.catalog import DEVICES, DIAL_PLANS, PROVIDERS

# (label, url name, who sees it). Each page adds its entry here, once.
NAV_ITEMS: list[tuple[str, str, str | Callable[[Any], bool]]] = [
    # Role user gets the same list scoped to its own DIDs, under its own name.
    ("DIDs", "dids:list", lambda user: user.can_read_dids and not user.is_end_user),
    ("Personal DIDs", "dids:list", "is_end_user"),
    ("Add DIDs", "dids:create", lambda user: creation_refusal(user) is None),
    ("Import DIDs", "dids:import", "may_manage_dids"),
    ("Number blocks", "dids:blocks", "can_read_dids"),
    ("Providers", "catalog:provider_list", PROVIDERS.may_open),
    ("Devices", "catalog:device_list", DEVICES.may_open),
    ("Dial plans", "catalog:dial_plan_list", DIAL_PLANS.may_open),
    ("Accounts", "accounts:account_list", lambda user: user.may_list_accounts and user.is_admin),
    # A reseller's list is its own users, titled so: the menu says what the page says.
    ("My users", "accounts:account_list", lambda user: user.may_list_accounts and user.is_reseller),
    ("Accountant groups", "accounts:accountant_group_list", "is_admin"),
    ("API groups", "accounts:api_group_list", "is_admin"),
    ("API settings", "accounts:api_settings", "may_edit_api_settings"),
    ("System settings", "accounts:system_settings", "is_admin"),
    ("Generate hash", "accounts:hash_tool", "may_use_hash_tool"),
    ("Audit log", "accounts:audit_log", "is_admin"),
    ("My password", "accounts:own_password", "is_active"),
]


def portal(request: HttpRequest) -> dict:
    context = {"site_header": "DID portal", "site_title": "DID portal", "portal_nav": []}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    for label, url_name, attribute in NAV_ITEMS:
        allowed = attribute(user) if callable(attribute) else getattr(user, attribute, False)
        if not allowed:
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        context["portal_nav"].append({"label": label, "url": url, "active": False})
    # The entry whose URL is the longest start of the path is the page's (/dids/blocks/
    # is Number blocks, not DIDs).
    matches = [item for item in context["portal_nav"] if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return context
