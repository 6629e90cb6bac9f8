"""Security headers that Django 5.2 does not set by itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Adds settings.CONTENT_SECURITY_POLICY to every response that has none.

    The policy allows only the portal's own scripts, styles and images: the Django
    admin's templates load all their JavaScript and CSS from files, so they keep
    working without 'unsafe-inline'. A view may set its own header to override.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: str = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class DeviceCookieMiddleware:
    """Writes the device cookie that a successful sign-in asked for (accounts.services).

    The sign-in forms of the portal and of the Django admin leave it on the request as
    `portal_device_cookie`; it is signed, HttpOnly, as secure as the session cookie,
    and lasts DEVICE_COOKIE_AGE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        value = getattr(request, "portal_device_cookie", None)
        if value:
            from . import services  # models are ready by the time a request arrives

            response.set_cookie(
                services.DEVICE_COOKIE_NAME,
                value,
                max_age=services.DEVICE_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
