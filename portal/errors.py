"""The portal's answer to a request it cannot read: HTTP 400 in the portal's layout, or,
for the API, the contract's XML error.

`bad_request` is the project's handler400. Django's own handler is wrapped in
`requires_csrf_token`, which reads a POST body again; when the body was what Django
could not read (e.g. a form body in another charset), that read raises inside the
error page and the client gets a bare 500. This handler reads neither the body nor
the query string.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from dids.api.errors import api_error_response, is_api_request

BAD_REQUEST_API = "Invalid request: it could not be read"
BAD_REQUEST_MESSAGE = (
    "The portal could not read this request (for example, too many fields or too large "
    "a form). Nothing was changed."
)


def bad_request_response(request: HttpRequest, *, message: str, api_text: str) -> HttpResponse:
    if is_api_request(request):
        return api_error_response(request, api_text)
    response = TemplateResponse(
        request, "400.html", {"title": "Bad request", "message": message}, status=400
    )
    response.render()
    # Also when this response leaves before XFrameOptionsMiddleware has run.
    response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return bad_request_response(request, message=BAD_REQUEST_MESSAGE, api_text=BAD_REQUEST_API)
