"""The issue's targets, judged against a results document, and the Markdown table printed after a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One target: what is measured, how it reads, the figure and whether it is met."""

    scenario: str
    figure: str
    target: str
    value: Callable[[dict[str, Any]], float]
    met: Callable[[float], bool]


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


TARGETS: tuple[Target, ...] = (
    Target("full", "rows/s", ">= 20,000", lambda r: r["full"]["rows_per_s"], lambda v: v >= 20_000),
    Target(
        "full",
        "rows/s / storage limit rows/s",
        ">= 0.25",
        lambda r: _ratio(r["full"]["rows_per_s"], r["storage_limit"]["rows_per_s"]),
        lambda v: v >= 0.25,
    ),
    Target(
        "fetch limit",
        "fetch rows/s / full rows/s",
        ">= 2",
        lambda r: _ratio(r["fetch_limit"]["rows_per_s"], r["full"]["rows_per_s"]),
        lambda v: v >= 2,
    ),
    Target(
        "naive",
        "naive seconds / full seconds",
        ">= 5",
        lambda r: _ratio(r["naive"]["seconds"], r["full"]["seconds"]),
        lambda v: v >= 5,
    ),
    Target(
        "naive",
        "naive requests / full requests",
        ">= 5",
        lambda r: _ratio(r["naive"]["requests"], r["full"]["requests"]),
        lambda v: v >= 5,
    ),
    Target(
        "no-change incremental",
        "requests / full requests",
        "<= 0.05",
        lambda r: _ratio(r["incremental_nochange"]["requests"], r["full"]["requests"]),
        lambda v: v <= 0.05,
    ),
    Target(
        "no-change incremental",
        "seconds / full seconds",
        "<= 0.10",
        lambda r: _ratio(r["incremental_nochange"]["seconds"], r["full"]["seconds"]),
        lambda v: v <= 0.10,
    ),
    Target(
        "1% change incremental",
        "rows fetched / rows changed",
        "<= 1.2",
        lambda r: _ratio(r["incremental_1pct"]["rows_fetched"], r["incremental_1pct"]["rows_changed"]),
        lambda v: v <= 1.2,
    ),
    Target(
        "throttled",
        "seconds / theoretical minimum",
        "<= 1.3",
        lambda r: _ratio(r["throttled"]["seconds"], r["throttled"]["theoretical_min_seconds"]),
        lambda v: v <= 1.3,
    ),
    Target("throttled", "failed requests", "= 0", lambda r: r["throttled"]["failed_requests"], lambda v: v == 0),
    Target("full", "peak RSS MB", "<= 600", lambda r: r["full"]["peak_rss_mb"], lambda v: v <= 600),
    Target(
        "2x users",
        "peak RSS / full peak RSS",
        "<= 1.15",
        lambda r: _ratio(r["scale2x"]["peak_rss_mb"], r["full"]["peak_rss_mb"]),
        lambda v: v <= 1.15,
    ),
    Target(
        "2x users",
        "seconds / full seconds",
        "<= 2.2",
        lambda r: _ratio(r["scale2x"]["seconds"], r["full"]["seconds"]),
        lambda v: v <= 2.2,
    ),
    Target("large", "peak RSS MB", "<= 600", lambda r: r["large"]["peak_rss_mb"], lambda v: v <= 600),
    Target(
        "large",
        "peak RSS / full peak RSS",
        "<= 1.15",
        lambda r: _ratio(r["large"]["peak_rss_mb"], r["full"]["peak_rss_mb"]),
        lambda v: v <= 1.15,
    ),
    Target(
        "large",
        "seconds / full seconds",
        "<= 11",
        lambda r: _ratio(r["large"]["seconds"], r["full"]["seconds"]),
        lambda v: v <= 11,
    ),
    Target(
        "latency",
        "seconds / theoretical minimum",
        "<= 1.5",
        lambda r: _ratio(r["latency"]["seconds"], r["latency"]["theoretical_min_seconds"]),
        lambda v: v <= 1.5,
    ),
    Target(
        "latency",
        "16-in-flight baseline seconds / seconds",
        ">= 3",
        lambda r: _ratio(r["latency"]["baseline_seconds"], r["latency"]["seconds"]),
        lambda v: v >= 3,
    ),
)


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its measured value and whether it is met (kept in results.json too)."""
    rows = []
    for target in TARGETS:
        value = float(target.value(results))
        rows.append(
            {
                "scenario": target.scenario,
                "figure": target.figure,
                "target": target.target,
                "value": round(value, 3),
                "met": bool(target.met(value)),
            }
        )
    return rows


def _figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if value else "0"


def markdown(results: dict[str, Any]) -> str:
    """The figures of every scenario and the targets, as Markdown tables."""
    full = results["full"]
    lines = [
        f"Machine: {results['machine']}; scale `{results['scale']}`.",
        "",
        "| scenario | rows | requests | seconds | rows/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
        f"| full sync | {full['rows']:,} | {full['requests']:,} | {full['seconds']:.1f} | "
        f"{_figure(full['rows_per_s'])} | {full['peak_rss_mb']:.0f} |",
        f"| fetch limit | {results['fetch_limit']['rows']:,} | {results['fetch_limit']['requests']:,} | "
        f"{results['fetch_limit']['seconds']:.1f} | {_figure(results['fetch_limit']['rows_per_s'])} | |",
        f"| storage limit (DuckDB read_json) | {results['storage_limit']['rows']:,} | | "
        f"{results['storage_limit']['seconds']:.1f} | {_figure(results['storage_limit']['rows_per_s'])} | |",
        f"| naive | {results['naive']['rows']:,} | {results['naive']['requests']:,} | "
        f"{results['naive']['seconds']:.1f} | | {results['naive']['peak_rss_mb']:.0f} |",
        f"| no-change incremental | {results['incremental_nochange']['rows']:,} | "
        f"{results['incremental_nochange']['requests']:,} | {results['incremental_nochange']['seconds']:.1f} | | |",
        f"| 1% change incremental ({results['incremental_1pct']['rows_changed']:,} changed) | "
        f"{results['incremental_1pct']['rows_fetched']:,} | {results['incremental_1pct']['requests']:,} | "
        f"{results['incremental_1pct']['seconds']:.1f} | | |",
        f"| throttled (min {results['throttled']['theoretical_min_seconds']:.1f} s) | | "
        f"{results['throttled']['requests']:,} | {results['throttled']['seconds']:.1f} | | |",
        f"| 2x users | {results['scale2x']['rows']:,} | {results['scale2x']['requests']:,} | "
        f"{results['scale2x']['seconds']:.1f} | | {results['scale2x']['peak_rss_mb']:.0f} |",
        f"| dbt build | | | {results['dbt_build']['seconds']:.1f} | | |",
        f"| large ({results['large']['users']:,} users, defaults) | {results['large']['rows']:,} | "
        f"{results['large']['requests']:,} | {results['large']['seconds']:.1f} | | "
        f"{results['large']['peak_rss_mb']:.0f} |",
        f"| latency {results['latency']['model']} (min {results['latency']['theoretical_min_seconds']:.1f} s) | | "
        f"{results['latency']['requests']:,} | {results['latency']['seconds']:.1f} | | "
        f"{results['latency']['peak_rss_mb']:.0f} |",
        f"| latency, 16 in flight (baseline) | | | {results['latency']['baseline_seconds']:.1f} | | |",
        "",
        "| target | figure | measured | wanted | met |",
        "|---|---|---:|---|---|",
    ]
    for row in results.get("targets") or judge(results):
        lines.append(
            f"| {row['scenario']} | {row['figure']} | {_figure(row['value'])} | {row['target']} | "
            f"{'yes' if row['met'] else 'no'} |"
        )
    return "\n".join(lines)
