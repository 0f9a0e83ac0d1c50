"""How often each workload syncs, and how old its newest materialization may get before the UI shows it overdue.

Freshness is a ``FreshnessPolicy`` on each asset (Dagster 1.13 evaluates it in the daemon and shows it on the
asset and the Automation page), not freshness checks with a sensor of their own.
"""

import datetime as dt

import dagster as dg

# Directory and reference data change slowly: daily. Activity (mail, calendar, files): hourly.
DEFAULT_CRONS: dict[str, str] = {
    "directory": "0 2 * * *",
    "contacts": "10 2 * * *",
    "planner": "20 2 * * *",
    "teams": "30 2 * * *",
    "bookings": "40 2 * * *",
    "audit": "50 2 * * *",
    "reports": "0 7 * * *",  # usage reports: Microsoft computes them once a day
    "places": "55 2 * * *",
    "mail": "5 * * * *",
    "calendar": "25 * * * *",
    "files": "45 * * * *",
    "sharepoint": "55 * * * *",  # list items and library files change as OneDrive files do: hourly (delta)
}

# A missed run plus slack.
HOURLY_LIMIT = dt.timedelta(hours=2)
DAILY_LIMIT = dt.timedelta(hours=26)


def freshness_limit(workload: str) -> dt.timedelta:
    """Hourly workloads must be at most 2 h old, daily ones 26 h."""
    return HOURLY_LIMIT if DEFAULT_CRONS[workload].split()[1] == "*" else DAILY_LIMIT


def raw_freshness(workload: str) -> dg.FreshnessPolicy:
    """The freshness policy of a workload's raw tables: overdue once a scheduled run was missed."""
    return dg.FreshnessPolicy.time_window(fail_window=freshness_limit(workload))


# The dbt models follow the hourly workloads through automation.
MODEL_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=HOURLY_LIMIT)
