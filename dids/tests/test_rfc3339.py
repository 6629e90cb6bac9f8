"""Dates in the API and the CSV: RFC 3339 in UTC with a `Z`, whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dids.presentation import rfc3339


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC), "2026-12-02T03:04:05Z"),
        # Fractions are cut, not rounded, and other offsets become UTC.
        (datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC), "2026-01-01T00:00:00Z"),
        (
            datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:30:00Z",
        ),
        # Four digits for the year, as RFC 3339 requires, also before 1000.
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),
    ],
)
def test_rfc3339(moment, text):
    assert rfc3339(moment) == text
