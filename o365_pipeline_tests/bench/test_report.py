"""The targets table: every target judged from a results document, met or not."""

from __future__ import annotations

import copy
from typing import Any

from o365_pipeline.bench.report import TARGETS, judge, markdown

RESULTS: dict[str, Any] = {
    "machine": "2 cores",
    "scale": "bench",
    "full": {"rows": 200_000, "rows_per_s": 25_000.0, "requests": 10_000, "seconds": 8.0, "peak_rss_mb": 500.0},
    "fetch_limit": {"rows_per_s": 60_000.0, "rows": 200_000, "requests": 10_000, "seconds": 3.3},
    "storage_limit": {"rows_per_s": 90_000.0, "rows": 200_000, "seconds": 2.2},
    "naive": {"seconds": 80.0, "requests": 60_000, "rows": 190_000, "peak_rss_mb": 900.0},
    "incremental_nochange": {"requests": 400, "seconds": 0.7, "rows": 0},
    "incremental_1pct": {"rows_changed": 1_000, "rows_fetched": 1_100, "requests": 600, "seconds": 1.0},
    "throttled": {"seconds": 24.0, "theoretical_min_seconds": 20.0, "failed_requests": 0, "requests": 10_000},
    "scale2x": {"seconds": 16.0, "peak_rss_mb": 550.0, "rows": 400_000, "requests": 20_000},
    "dbt_build": {"seconds": 12.0},
    "large": {"rows": 2_000_000, "seconds": 80.0, "peak_rss_mb": 560.0, "requests": 60_000, "users": 5_000},
    "latency": {
        "seconds": 20.0,
        "theoretical_min_seconds": 15.0,
        "requests": 10_000,
        "baseline_seconds": 70.0,
        "model": "150ms+1ms/item",
        "peak_rss_mb": 580.0,
    },
}


def test_every_target_is_met_by_figures_that_meet_them() -> None:
    rows = judge(RESULTS)
    assert len(rows) == len(TARGETS)
    assert all(row["met"] for row in rows), [row for row in rows if not row["met"]]


def test_a_slow_full_sync_misses_its_targets_and_the_table_says_so() -> None:
    slow = copy.deepcopy(RESULTS)
    slow["full"].update(rows_per_s=300.0, seconds=700.0, peak_rss_mb=7_000.0)
    missed = {(row["scenario"], row["figure"]) for row in judge(slow) if not row["met"]}
    assert ("full", "rows/s") in missed and ("full", "peak RSS MB") in missed
    assert ("naive", "naive seconds / full seconds") in missed
    table = markdown(slow)
    assert "| full | rows/s | 300 | >= 20,000 | no |" in table


def test_a_large_tenant_over_its_memory_and_a_slow_latency_run_miss_their_targets() -> None:
    worse = copy.deepcopy(RESULTS)
    worse["large"].update(peak_rss_mb=930.0)
    worse["latency"].update(seconds=46.0, baseline_seconds=130.0)
    missed = {(row["scenario"], row["figure"]) for row in judge(worse) if not row["met"]}
    assert "| large | peak RSS MB | 930 | <= 600 | no |" in markdown(worse)
    assert missed == {
        ("large", "peak RSS MB"),
        ("large", "peak RSS / full peak RSS"),
        ("latency", "seconds / theoretical minimum"),
        ("latency", "16-in-flight baseline seconds / seconds"),
    }
