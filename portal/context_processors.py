"""Template context shared by every portal page: branding and the role's navigation."""

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# (label, url name, who sees it). Each page adds its entry here, once.
NAV_ITEMS: list[tuple[str, str, str]] = [
    ("DIDs", "dids:list", "can_read_dids"),
]


def portal(request: HttpRequest) -> dict:
    context = {"site_header": "DID portal", "site_title": "DID portal", "portal_nav": []}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    for label, url_name, attribute in NAV_ITEMS:
        if not getattr(user, attribute, False):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        context["portal_nav"].append(
            {"label": label, "url": url, "active": request.path.startswith(url)}
        )
    return context
