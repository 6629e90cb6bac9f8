"""The viewer's time zone for the GUI's dates.

portal.js stores the browser's IANA zone (e.g. `Europe/Vilnius`) in the `portal_tz`
cookie; this middleware activates it for the request, so templates show dates in the
viewer's zone. An unknown or missing zone means DJANGO_TIME_ZONE. The API is not
affected: it writes RFC 3339 in UTC (dids.presentation.rfc3339).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "portal_tz"


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_of(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    name = unquote(request.COOKIES.get(COOKIE, ""))
    # Only names of the zone database: never a path or anything else taken from a cookie.
    if not name or len(name) > 64 or name not in known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_of(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
