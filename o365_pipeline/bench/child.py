"""One benchmark scenario in a fresh process: ``python -m o365_pipeline.bench.child SCENARIO --out FILE``.

Scenarios: ``sync`` (the real ``run_sync``), ``fetch`` (the same readers, pages discarded, then the same rows
as JSON lines loaded by DuckDB ``read_json``), ``naive`` (:mod:`.naive`). Settings come from the environment
(``O365_*``, ``DLT_DATA_DIR``); the figures are written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from ..auth import GraphAuth
from ..config import PipelineConfig
from ..gc_tuning import fewer_gc_passes
from ..graph.entities import select_entities
from ..graph.readers import READERS, ReadContext, Rows
from ..graph.source import SyncRun
from ..sync import make_client, run_sync


def run_sync_scenario() -> dict[str, Any]:
    """The real sync (extract + normalize + load) into ``O365_DUCKDB_PATH``."""
    report = run_sync(GraphAuth.from_env(), PipelineConfig.from_env())
    stats = report.stats.values()
    return {
        "rows": sum(s.rows for s in stats),
        "deleted": sum(s.deleted for s in stats),
        "requests": sum(s.requests for s in stats),
        "throttled": sum(s.throttled for s in stats),
        "seconds": report.seconds,
        "max_mailbox_requests": max(report.requests_by_mailbox.values(), default=0),
        "entities": {name: s.as_metadata() for name, s in sorted(report.stats.items())},
    }


def run_fetch_scenario(jsonl_dir: Path) -> dict[str, Any]:
    """Fetch every page the sync fetches (same readers, same concurrency), keep rows only as JSON lines.

    ``seconds`` is fetch time without the time spent writing the lines; ``storage_seconds`` is DuckDB's
    ``read_json`` of those lines into tables.
    """
    auth, config = GraphAuth.from_env(), PipelineConfig.from_env()
    auth.validate()
    jsonl_dir.mkdir(parents=True, exist_ok=True)
    rows = written = 0
    write_seconds = 0.0
    started = time.perf_counter()
    with make_client(auth) as client, fewer_gc_passes():  # as the sync runs
        run = SyncRun(client=client, users=config.users)
        files: list[Path] = []
        for entity in select_entities(config.entities):
            path = jsonl_dir / f"{entity.name}.jsonl"
            context = ReadContext(entity, client.view(), run.tenant, {}, {}, workers=run.workers)
            with path.open("wb") as out:
                for event in READERS[entity.reader](context):
                    if isinstance(event, Rows):
                        rows += len(event.rows)
                        mark = time.perf_counter()
                        out.write(b"".join(orjson.dumps(row) + b"\n" for row in event.rows))
                        write_seconds += time.perf_counter() - mark
                        written += len(event.rows)
            if path.stat().st_size:
                files.append(path)
        requests = client.stats.requests
    fetch_seconds = time.perf_counter() - started - write_seconds
    started = time.perf_counter()
    with duckdb.connect(":memory:") as con:
        for path in files:
            con.execute(f"create table \"{path.stem}\" as select * from read_json('{path}', sample_size=-1)")
    storage_seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "requests": requests,
        "seconds": fetch_seconds,
        "write_seconds": write_seconds,
        "storage_rows": written,
        "storage_seconds": storage_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    """Run one scenario and write its figures as JSON."""
    parser = argparse.ArgumentParser(prog="o365_pipeline.bench.child")
    parser.add_argument("scenario", choices=["sync", "fetch", "naive"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if args.scenario == "sync":
        result = run_sync_scenario()
    elif args.scenario == "fetch":
        result = run_fetch_scenario(args.workdir / "jsonl")
    else:
        from .naive import run_naive

        result = run_naive()
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
