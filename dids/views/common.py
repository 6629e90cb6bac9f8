"""What every DIDs page shares: the right to read DIDs, the rows it starts from, and
the list's query with the account's *Hide terminated DIDs* preference filled in."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse

from accounts.models import User

from ..models import Did
from ..services import dids_release_expired

# The API's text for the same denial (contract §3, check 7).
NOT_AUTHORISED = "You are not authorized to manage DIDs"
HIDE_TERMINATED = "search_hide_terminated_dids"


class CanReadDidsMixin:
    """Accounts without the right to read DIDs get a clear 403 page, not a 404.

    (An accountant whose group lacks *Manage DIDs*; anonymous visitors never get
    here, LoginRequiredMiddleware sends them to the sign-in page.)
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can_read_dids:
            return TemplateResponse(
                request,
                "dids/not_authorised.html",
                {"title": "Not authorised", "message": NOT_AUTHORISED},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


def listing_query(request: HttpRequest, data: QueryDict | None = None) -> QueryDict:
    """The request's parameters (or `data`, e.g. the list's query that a bulk action
    posts), with the account's Hide terminated preference filled in when they do not
    say (an empty value counts as absent, as in the API)."""
    data = request.GET.copy() if data is None else data.copy()
    if not data.get(HIDE_TERMINATED):
        data[HIDE_TERMINATED] = "1" if request.user.hide_terminated_dids else "0"
    return data


def visible_dids(account: User) -> QuerySet:
    """What every DIDs page starts from. Expired closed DIDs are released first, so that
    no page ever shows one as closed."""
    dids_release_expired()
    return Did.objects.visible_to(account).for_listing()
