"""Run every benchmark scenario against emulator processes and collect one results document.

Each scenario runs in a fresh child process (:mod:`.child`); its peak RSS is read from ``os.wait4``. Request
counts are the pipeline's own (one ``$batch`` = one request); bytes are what the emulator sent.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..emulator.process import EmulatorProcess
from ..emulator.scales import get_scale
from ..project import DBT_EXECUTABLE, DBT_PROJECT_DIR

MUTATED = ("messages", "events", "contacts")  # the entities the 1% change touches (each by 1% of its rows)


class BenchError(RuntimeError):
    """A scenario failed; the message carries the tail of its log."""


@dataclass
class ChildRun:
    """What one child process reported, plus its peak RSS and the emulator's view of its traffic."""

    result: dict[str, Any]
    peak_rss_mb: float
    bytes: int
    server_errors: int
    server_requests: int  # answered (not 429) as the emulator counts them: each request inside a $batch too


def machine() -> str:
    """Cores, memory and CPU model of this machine."""
    model = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores{memory}, {model}, {platform.system()} {platform.release()}"


class Bench:
    """One invocation: a work folder, the emulator currently in use, and the child runs."""

    def __init__(self, workdir: Path, log: Path) -> None:
        self.workdir = workdir
        self.log = log

    def env_for(self, emulator: EmulatorProcess, db: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The child's environment: the emulator's settings and a DuckDB file (with its dlt folder)."""
        env = {key: value for key, value in os.environ.items() if key not in ("O365_ENTITIES", "O365_USERS")}
        env.update(emulator.env)
        env.update(extra or {})
        env["O365_DUCKDB_PATH"] = str(self.workdir / f"{db}.duckdb")
        env["O365_DATASET"] = "o365_raw"
        env["DLT_DATA_DIR"] = str(self.workdir / f"{db}.dlt")
        env.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
        return env

    def child(
        self, emulator: EmulatorProcess, scenario: str, db: str, extra_env: dict[str, str] | None = None
    ) -> ChildRun:
        """Run one scenario in a fresh process (``extra_env`` added to its settings); raise :class:`BenchError`
        when it fails."""
        out = self.workdir / f"{scenario}-{db}-{time.monotonic_ns()}.json"
        emulator.admin("POST", "stats/reset")
        with self.log.open("a") as log:
            log.write(f"\n==== {scenario} ({db})\n")
            log.flush()
            process = subprocess.Popen(
                [sys.executable, "-m", "o365_pipeline.bench.child", scenario, "--out", str(out)]
                + ["--workdir", str(self.workdir / f"{db}-{scenario}")],
                env=self.env_for(emulator, db, extra_env),
                stdout=log,
                stderr=log,
            )
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        stats = emulator.admin("GET", "stats")
        if process.returncode != 0:
            tail = self.log.read_text()[-3000:]
            raise BenchError(f"scenario {scenario} failed (exit {process.returncode}):\n{tail}")
        errors = sum(
            count
            for route in stats.get("by_route", {}).values()
            for code, count in route.items()
            if str(code).startswith("5")
        )
        served = sum(
            count
            for name, route in stats.get("by_route", {}).items()
            if not name.startswith("admin")
            for code, count in route.items()
            if str(code) != "429"
        )
        return ChildRun(
            json.loads(out.read_text()), usage.ru_maxrss / 1024, int(stats.get("bytes_sent", 0)), errors, served
        )

    def dbt_build(self, emulator: EmulatorProcess, db: str) -> float:
        """``dbt build`` (models and tests) over the synced file; returns its seconds."""
        env = self.env_for(emulator, db)
        started = time.perf_counter()
        with self.log.open("a") as log:
            log.write("\n==== dbt build\n")
            log.flush()
            done = subprocess.run(
                [DBT_EXECUTABLE, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
                + ["--target-path", str(self.workdir / "dbt_target"), "--log-path", str(self.workdir / "dbt_logs")],
                env=env,
                stdout=log,
                stderr=log,
            )
        if done.returncode != 0:
            raise BenchError(f"dbt build failed (exit {done.returncode}):\n{self.log.read_text()[-3000:]}")
        return time.perf_counter() - started


def _mutation_ops(truth: dict[str, Any], share: float) -> list[dict[str, Any]]:
    return [
        {"entity": name, "op": "update", "count": max(1, round(truth[name]["count"] * share))}
        for name in MUTATED
        if truth.get(name, {}).get("count")
    ]


LATENCY = "150ms+1ms/item"  # the emulator's latency model in the latency scenario (BENCHMARKS.md: sources)
BASELINE_IN_FLIGHT = 16  # the client before issue 16: the latency scenario's baseline


def run_large(bench: Bench, work: Path, scale: str, users: int) -> dict[str, Any]:
    """A full sync of ten times the tenant with default settings (``--scale large`` for ``bench``): rows,
    seconds (the emulator generates each mailbox on first read: no warm pass at this size) and peak RSS."""
    if scale == "bench":
        emulator = EmulatorProcess("large", work / "emulator_large")
    else:
        emulator = EmulatorProcess(scale, work / "emulator_large", users=10 * users)
    with emulator:
        big = bench.child(emulator, "sync", "large")
    return {
        "rows": big.result["rows"],
        "seconds": big.result["seconds"],
        "peak_rss_mb": big.peak_rss_mb,
        "requests": big.result["requests"],
        "users": 5000 if scale == "bench" else 10 * users,
    }


def run_latency(bench: Bench, work: Path, scale: str, users: int, *, loopback_seconds: float) -> dict[str, Any]:
    """Full syncs against the emulator with Graph's latency (:data:`LATENCY`): with the default client, and
    with the client held to :data:`BASELINE_IN_FLIGHT` requests in flight (``baseline_seconds``).

    The theoretical minimum is the larger of what the latency model allows (the slowest mailbox's summed
    modelled latency over its 4 requests in flight; the longest chain of nextLinks, page after page, at the
    model's base and per-item times) and the loopback full sync of this run (latency can at best hide behind
    our own work)."""
    with EmulatorProcess(scale, work / "emulator_latency", users=users, latency=LATENCY) as emulator:
        model = emulator.admin("GET", "latency")
        emulator.admin("POST", "latency", {"base_ms": 0})
        bench.child(emulator, "warm", "latency")  # the tenant generated before timing, latency off
        emulator.admin("POST", "latency", {key: model[key] for key in ("base_ms", "per_item_ms", "jitter")})
        fast = bench.child(emulator, "sync", "latency")
        modelled = emulator.admin("GET", "stats").get("latency", {})
        slow = bench.child(emulator, "sync", "latency_baseline", {"O365_MAX_IN_FLIGHT": str(BASELINE_IN_FLIGHT)})
    pages, items = fast.result["longest_chain"]
    chain = (pages * float(model["base_ms"]) + items * float(model["per_item_ms"])) / 1000
    mailbox = float(modelled.get("slowest_mailbox_seconds", 0.0)) / 4
    return {
        "seconds": fast.result["seconds"],
        "theoretical_min_seconds": max(mailbox, chain, loopback_seconds),
        "requests": fast.result["requests"],
        "baseline_seconds": slow.result["seconds"],
        "model": LATENCY,
        "slowest_mailbox_bound_seconds": mailbox,
        "longest_chain_seconds": chain,
        "longest_chain_pages": pages,
        "loopback_seconds": loopback_seconds,
        "modelled_latency_seconds": modelled.get("seconds"),
        "peak_rss_mb": fast.peak_rss_mb,
    }


def run_bench(
    scale: str, *, workdir: Path | None = None, throttle_seconds: float = 20.0, users: int | None = None
) -> dict[str, Any]:
    """Run all scenarios at ``scale`` and return the results document (CONTRACT section 6 plus details).

    Args:
        scale: the emulator's tenant size.
        workdir: keep DuckDB files and the log here (default: a temporary folder, removed afterwards).
        throttle_seconds: how long the throttled run should take at the limits (they are scaled to it; at least
            twice the unthrottled full sync).
        users: users of the tenant instead of the scale's own count (the 2x run doubles it).
    """
    own = tempfile.TemporaryDirectory(prefix="o365-bench-") if workdir is None else None
    work = Path(own.name) if own else Path(workdir or ".")
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, work / "bench.log")
    users = users or get_scale(scale).users
    results: dict[str, Any] = {"machine": machine(), "scale": scale, "users": users}
    try:
        with EmulatorProcess(scale, work / "emulator", users=users) as emulator:
            # The fetch limit first: it reads every page the sync reads, so the emulator has generated its seeded
            # tenant (a one-time cost Graph does not have) before the full sync is timed.
            fetch = bench.child(emulator, "fetch", "fetch")
            full = bench.child(emulator, "sync", "full")
            rows, seconds = full.result["rows"], full.result["seconds"]
            results["full"] = {
                "rows": rows,
                "rows_per_s": rows / seconds,
                "requests": full.result["requests"],
                "bytes": full.bytes,
                "seconds": seconds,
                "peak_rss_mb": full.peak_rss_mb,
                "entities": full.result["entities"],
            }
            results["fetch_limit"] = {
                "rows_per_s": fetch.result["rows"] / fetch.result["seconds"],
                "rows": fetch.result["rows"],
                "requests": fetch.result["requests"],
                "seconds": fetch.result["seconds"],
            }
            results["storage_limit"] = {
                "rows_per_s": fetch.result["storage_rows"] / fetch.result["storage_seconds"],
                "rows": fetch.result["storage_rows"],
                "seconds": fetch.result["storage_seconds"],
            }
            again = bench.child(emulator, "sync", "full")
            results["incremental_nochange"] = {
                "requests": again.result["requests"],
                "seconds": again.result["seconds"],
                "rows": again.result["rows"],
            }
            answer = emulator.admin(
                "POST", "mutate", {"seed": 7, "ops": _mutation_ops(emulator.admin("GET", "truth")["entities"], 0.01)}
            )
            changed = sum(len(set(change["ids"])) for change in answer["changes"])
            one = bench.child(emulator, "sync", "full")
            fetched = sum(one.result["entities"].get(name, {}).get("rows", 0) for name in MUTATED)
            results["incremental_1pct"] = {
                "rows_changed": changed,
                "rows_fetched": fetched,
                "rows_all_tables": one.result["rows"],
                "requests": one.result["requests"],
                "seconds": one.result["seconds"],
            }
            results["dbt_build"] = {"seconds": bench.dbt_build(emulator, "full")}
            naive = bench.child(emulator, "naive", "baseline")
            results["naive"] = {
                "seconds": naive.result["seconds"],
                "requests": naive.result["requests"],
                "rows": naive.result["rows"],
                "peak_rss_mb": naive.peak_rss_mb,
            }
        with EmulatorProcess(scale, work / "emulator2x", users=2 * users) as emulator:
            bench.child(emulator, "warm", "double")  # as for the full sync: the tenant generated before timing
            double = bench.child(emulator, "sync", "double")
            results["scale2x"] = {
                "seconds": double.result["seconds"],
                "peak_rss_mb": double.peak_rss_mb,
                "rows": double.result["rows"],
                "requests": double.result["requests"],
            }
        results["large"] = run_large(bench, work, scale, users)
        results["latency"] = run_latency(bench, work, scale, users, loopback_seconds=seconds)
        with EmulatorProcess(scale, work / "emulator_throttled", users=users, throttle=True) as emulator:
            limits = emulator.admin("GET", "throttle")
            window = float(limits["window_s"])
            # Scale the overall limit so the run takes about `throttle_seconds` at the limit, and at least twice
            # the unthrottled sync: otherwise the ratio measures this machine's speed, not the use of the budget.
            target = max(throttle_seconds, 2 * seconds)
            overall = max(10, math.ceil(full.server_requests * window / target))
            limits = emulator.admin("POST", "throttle", {"global_requests": overall})
            pacing = {  # the client paces itself to the emulator's limits, through the user-facing settings
                "O365_GRAPH_LIMIT": f"{limits['global_requests']}/{window}",
                "O365_MAILBOX_LIMIT": f"{limits['outlook_requests']}/{window}",
            }
            try:
                throttled = bench.child(emulator, "sync", "throttled", pacing)
            except BenchError as exc:  # keep every other figure; the table shows this one as missed
                results["throttled"] = {
                    "seconds": 0.0,
                    "theoretical_min_seconds": 0.0,
                    "failed_requests": -1,
                    "requests": 0,
                    "error": str(exc)[-1000:],
                }
                return results
            minimum = max(
                throttled.server_requests / (limits["global_requests"] / window),  # $batch members count too
                throttled.result["max_mailbox_requests"] / (limits["outlook_requests"] / window),
            )
            results["throttled"] = {
                "seconds": throttled.result["seconds"],
                "theoretical_min_seconds": minimum,
                "failed_requests": throttled.server_errors,
                "throttled_responses": throttled.result["throttled"],
                "requests": throttled.result["requests"],
                "served_requests": throttled.server_requests,
                "limits": limits,
            }
    finally:
        if own is not None:
            own.cleanup()
    return results
