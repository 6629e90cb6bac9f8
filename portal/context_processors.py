"""Template context shared by every portal page."""

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    return {"site_header": "DID portal", "site_title": "DID portal"}
