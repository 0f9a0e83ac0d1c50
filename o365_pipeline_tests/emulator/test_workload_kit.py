"""Pure helpers of the files/Planner/Teams/Bookings/audit workloads: date literals, date filters, team filter."""

from __future__ import annotations

import pytest

from o365_pipeline.emulator.tenant_collab import is_team_filter
from o365_pipeline.emulator.workload_kit import (
    TICKS_PER_SECOND,
    fmt_ticks,
    parse_datetime_ticks,
    parse_time_filter,
)


def test_datetime_literals_round_trip() -> None:
    ticks = parse_datetime_ticks("2026-11-01T09:30:12.1234567Z")
    assert fmt_ticks(ticks) == "2026-11-01T09:30:12.1234567Z"
    assert fmt_ticks(ticks, 0) == "2026-11-01T09:30:12Z"
    assert parse_datetime_ticks("'2026-11-01T10:30:12.1234567+01:00'") == ticks
    assert parse_datetime_ticks("2026-11-01") == parse_datetime_ticks("2026-11-01T00:00:00Z")
    with pytest.raises(ValueError):
        parse_datetime_ticks("yesterday")


def test_time_filter_bounds() -> None:
    t = parse_datetime_ticks("2026-11-01T00:00:00Z")
    assert parse_time_filter(None, "createdDateTime").contains(0)
    window = parse_time_filter(
        "createdDateTime ge 2026-11-01T00:00:00Z and createdDateTime lt 2026-11-02T00:00:00Z", "createdDateTime"
    )
    assert window.contains(t) and not window.contains(t - 1)
    assert window.contains(t + 86400 * TICKS_PER_SECOND - 1) and not window.contains(t + 86400 * TICKS_PER_SECOND)
    strict = parse_time_filter("activityDateTime gt 2026-11-01T00:00:00Z", "activityDateTime")
    assert not strict.contains(t) and strict.contains(t + 1)
    exact = parse_time_filter("activityDateTime eq 2026-11-01T00:00:00Z", "activityDateTime")
    assert exact.contains(t) and not exact.contains(t + 1)
    assert window.narrowed(t).high == t and window.narrowed(None) is window


@pytest.mark.parametrize(
    "raw",
    [
        "userId eq 'x'",
        "createdDateTime ge 2026-11-01T00:00:00Z or createdDateTime lt 2026-11-02",
        "createdDateTime ge nope",
        "activityDateTime ge 2026-11-01T00:00:00Z",
    ],
)
def test_time_filter_rejects_other_expressions(raw: str) -> None:
    with pytest.raises(ValueError, match="createdDateTime"):
        parse_time_filter(raw, "createdDateTime")


def test_team_filter() -> None:
    assert is_team_filter("resourceProvisioningOptions/Any(x:x eq 'Team')")
    assert is_team_filter("resourceProvisioningOptions/any(p: p eq 'Team')")
    assert not is_team_filter("resourceProvisioningOptions/Any(x:y eq 'Team')")
    assert not is_team_filter("groupTypes/any(c:c eq 'Unified')")
    assert not is_team_filter(None)
