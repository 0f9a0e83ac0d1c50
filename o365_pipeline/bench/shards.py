"""``make bench-shards``: the per-mailbox tables of a ``bench``-scale tenant into PostgreSQL as 4 mailbox shards,
with 1, 2 and 4 shard runs at once.

Each shard run is ``o365-pipeline sync --shard shard_<i>of4`` in its own process (what a Dagster run worker
executes, without Dagster's start-up), into a fresh database per concurrency. Printed per concurrency: wall
seconds for all four shards, requests the emulator served, peak RSS of each run (``wait4``), the emulator's own
CPU seconds and the machine's load. The emulator shares the cores with the runs: on a 2-core machine the gain is
bounded by that, and by whatever else runs there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..emulator.process import EmulatorProcess
from ..shards import shard_keys
from .harness import machine
from .postgres import create_database, throwaway_postgres

SHARDS = 4


@dataclass
class Round:
    """One concurrency's figures."""

    at_once: int
    wall_seconds: float
    requests: int
    emulator_cpu_seconds: float
    load_before: float
    peak_rss_mb: list[float] = field(default_factory=list)
    run_seconds: list[float] = field(default_factory=list)


def served(stats: dict[str, Any]) -> int:
    """Graph requests the emulator answered (429s and admin routes left out)."""
    return sum(
        count
        for name, route in stats.get("by_route", {}).items()
        if not name.startswith("admin")
        for code, count in route.items()
        if str(code) != "429"
    )


def run_round(emulator: EmulatorProcess, pg: dict[str, str], at_once: int, work: Path, log: Path) -> Round:
    """All shards into a fresh database, ``at_once`` of them at a time."""
    database = f"bench_{at_once}x_{time.monotonic_ns()}"
    create_database(pg, database)
    env = {key: value for key, value in os.environ.items() if key not in ("O365_ENTITIES", "O365_USERS")}
    env.update(emulator.env)
    env.update(pg)
    env.update(O365_PG_DBNAME=database, O365_DESTINATION="postgres", O365_CONCURRENT_RUNS=str(at_once))
    env.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    pending = list(shard_keys(SHARDS))
    running: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
    result = Round(at_once, 0.0, 0, 0.0, os.getloadavg()[0])
    emulator.admin("POST", "stats/reset")
    cpu = emulator.cpu_seconds()
    started = time.perf_counter()
    with log.open("a") as out:
        while pending or running:
            while pending and len(running) < at_once:
                key = pending.pop(0)
                out.write(f"\n==== {key} ({at_once} at once)\n")
                out.flush()
                process = subprocess.Popen(
                    [str(Path(sys.executable).parent / "o365-pipeline"), "sync", "--shard", key],
                    env={**env, "DLT_DATA_DIR": str(work / database / key), "O365_PROGRESS_SECONDS": "0"},
                    stdout=out,
                    stderr=out,
                )
                running[process.pid] = (process, time.perf_counter())
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:
                continue
            process, began = running.pop(pid)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"a shard run failed ({at_once} at once): see {log}")
            result.peak_rss_mb.append(round(usage.ru_maxrss / 1024, 1))
            result.run_seconds.append(round(time.perf_counter() - began, 2))
    result.wall_seconds = round(time.perf_counter() - started, 2)
    result.emulator_cpu_seconds = round(emulator.cpu_seconds() - cpu, 2)
    result.requests = served(emulator.admin("GET", "stats"))
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print a table; the figures go to ``--out`` as JSON."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline.bench.shards", description=__doc__)
    parser.add_argument("--scale", default="bench", choices=["small", "bench", "large"])
    parser.add_argument("--rounds", type=int, default=1, help="repeat 1, 2, 4 at once this many times (interleaved)")
    parser.add_argument("--out", default="bench/shards.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="o365-bench-shards-") as folder:
        work = Path(folder)
        log = work / "bench.log"
        rounds: list[Round] = []
        with EmulatorProcess(args.scale, work / "emulator") as emulator, throwaway_postgres() as pg:
            run_round(emulator, pg, SHARDS, work, log)  # untimed: the emulator generates its tenant once
            for _ in range(args.rounds):
                for at_once in (1, 2, 4):
                    rounds.append(run_round(emulator, pg, at_once, work, log))
                    print(json.dumps(asdict(rounds[-1])), flush=True)
    print(f"\n{machine()}; {args.scale} tenant, {SHARDS} shards into PostgreSQL")
    print(f"{'at once':>8}{'wall s':>9}{'requests':>10}{'emulator cpu s':>16}{'load':>6}  peak RSS MB per run")
    for r in rounds:
        print(
            f"{r.at_once:>8}{r.wall_seconds:>9.1f}{r.requests:>10}{r.emulator_cpu_seconds:>16.1f}"
            f"{r.load_before:>6.1f}  {', '.join(f'{mb:.0f}' for mb in r.peak_rss_mb)}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine(), "rounds": [asdict(r) for r in rounds]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
