"""`/billing/api/` with `action=<method>`: the method that `action` names answers.

`action` is read as every parameter is (query string or body, the query string
winning), exactly and in lower case; an alias names its method too. A missing or
unknown `action` (and `dids_get`) goes to dids_get's view, which answers
`Unknown API method` for anything but `dids_get` (dids_get.md §1). For a method
other than GET and POST only the query string's `action` counts (§2: the 405's
envelope follows it).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from accounts.authentication import api_parameters

from ..parsers import ContractJSONParser
from ..views import DidsGetView
from . import BY_NAME
from .view import WriteMethodView

_DIDS_GET = DidsGetView.as_view(by_action=True)
_WRITE_VIEWS = {name: WriteMethodView.as_view(method=method) for name, method in BY_NAME.items()}


def _action(request: HttpRequest) -> object:
    if request.method not in ("GET", "POST"):
        return request.GET.get("action")
    try:
        # Read once and kept: the method's view parses the body again from it.
        request.body  # noqa: B018
    except RequestDataTooBig:
        return request.GET.get("action")
    parsers = [ContractJSONParser(), FormParser(), MultiPartParser()]
    return api_parameters(Request(request, parsers=parsers)).get("action")


@csrf_exempt
@login_not_required
def api_dispatch(request: HttpRequest) -> HttpResponseBase:
    action = _action(request)
    view = _WRITE_VIEWS.get(action) if isinstance(action, str) else None
    return (view or _DIDS_GET)(request)
