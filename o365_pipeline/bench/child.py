"""One benchmark scenario in a fresh process: ``python -m o365_pipeline.bench.child SCENARIO --out FILE``.

Scenarios: ``sync`` (the real ``run_sync``), ``fetch`` (the same readers, pages discarded, then the same rows
as JSON lines loaded by DuckDB ``read_json``), ``warm`` (the same readers once, untimed: the emulator generates
its tenant), ``naive`` (:mod:`.naive`). Settings come from the environment
(``O365_*``, ``DLT_DATA_DIR``); the figures are written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import orjson

from ..auth import GraphAuth
from ..config import PipelineConfig
from ..gc_tuning import fewer_gc_passes
from ..graph.client import SentRequest
from ..graph.entities import select_entities
from ..graph.feed import publish, ride
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
        "longest_chain": list(report.longest_chain),
        "entities": {name: s.as_metadata() for name, s in sorted(report.stats.items())},
    }


def _drain(events: Iterator[Any], path: Path | None) -> tuple[int, Path | None]:
    """Count the rows of a reader's ``events`` (and write them to ``path`` as JSON lines, when given)."""
    rows = 0
    with path.open("wb") if path is not None else contextlib.nullcontext() as out:
        for event in events:
            if isinstance(event, Rows):
                rows += len(event.rows)
                if out is not None:
                    out.write(b"".join(orjson.dumps(row) + b"\n" for row in event.rows))
    return rows, path


def _fetch_all(jsonl_dir: Path | None, request_log: list[SentRequest] | None = None) -> tuple[int, int, list[Path]]:
    """Read every selected entity as the sync does (an attachment table alongside its parent, from the parent's
    delta rounds); rows discarded, or written to ``jsonl_dir``; every request recorded in ``request_log``.
    Returns (rows, requests, files written)."""
    auth, config = GraphAuth.from_env(), PipelineConfig.from_env()
    auth.validate()

    def out(name: str) -> Path | None:
        return jsonl_dir / f"{name}.jsonl" if jsonl_dir is not None else None

    with make_client(auth) as client, fewer_gc_passes():  # as the sync runs
        client.request_log = request_log
        run = SyncRun(client=client, users=config.users)
        selected = select_entities(config.entities)
        names = {entity.name for entity in selected}
        outputs: list[tuple[int, Path | None]] = []
        for entity in selected:
            if entity.parent in names:
                continue  # read with its parent below
            context = ReadContext(entity, run.view(entity.name), run.tenant, {}, {}, workers=run.workers)
            events: Iterator[Any] = READERS[entity.reader](context)
            child = next((e for e in selected if e.parent == entity.name), None)
            if child is None:
                outputs.append(_drain(events, out(entity.name)))
                continue
            feed = run.feed(entity.name)
            child_context = ReadContext(child, run.view(child.name), run.tenant, {}, {}, workers=run.workers)
            with ThreadPoolExecutor(1) as pool:
                riding = pool.submit(_drain, ride(child_context, feed), out(child.name))
                outputs.append(_drain(publish(events, feed), out(entity.name)))
                outputs.append(riding.result())
        requests = client.stats.requests
    files = [path for count, path in outputs if count and path is not None]
    return sum(count for count, _ in outputs), requests, files


def _send_all_again(requests: list[SentRequest]) -> tuple[float, int]:
    """Send ``requests`` again as they were sent, as many at once as the sync's client allows, answers discarded
    unread (the 404s of unreadable mailboxes included, as the readers got them); returns (seconds, bytes)."""
    auth = GraphAuth.from_env()
    with make_client(auth) as client:
        client.send_as_is(requests[0])  # token and first connection outside the timing
        started = time.perf_counter()
        with ThreadPoolExecutor(client.max_in_flight) as pool:
            answers = list(pool.map(client.send_as_is, requests))
        seconds = time.perf_counter() - started
    failed = sum(1 for status, _ in answers if status == 429 or status >= 500)
    if failed:
        raise RuntimeError(f"fetch limit: {failed} requests throttled or failed on the unthrottled emulator")
    return seconds, sum(size for _, size in answers)


def run_fetch_scenario(jsonl_dir: Path) -> dict[str, Any]:
    """The fetch limit and the storage limit.

    First the readers read every page the sync reads (untimed: it records every request, saves the rows as JSON
    lines, and the emulator generates its tenant). The fetch limit (``seconds``): exactly those requests sent
    again, as many at once as the sync's client sends (``max_in_flight``), answers discarded unparsed. The storage
    limit (``storage_seconds``): DuckDB's ``read_json`` of the JSON lines into tables.
    """
    jsonl_dir.mkdir(parents=True, exist_ok=True)
    sent: list[SentRequest] = []
    rows, requests, files = _fetch_all(jsonl_dir, sent)
    fetch_seconds, received = _send_all_again(sent)
    started = time.perf_counter()
    with duckdb.connect(":memory:") as con:
        for path in files:
            con.execute(f"create table \"{path.stem}\" as select * from read_json('{path}', sample_size=-1)")
    storage_seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "requests": len(sent),
        "bytes": received,
        "seconds": fetch_seconds,
        "storage_rows": rows,
        "storage_seconds": storage_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    """Run one scenario and write its figures as JSON."""
    parser = argparse.ArgumentParser(prog="o365_pipeline.bench.child")
    parser.add_argument("scenario", choices=["sync", "fetch", "naive", "warm"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if args.scenario == "sync":
        result = run_sync_scenario()
    elif args.scenario == "fetch":
        result = run_fetch_scenario(args.workdir / "jsonl")
    elif args.scenario == "warm":  # every page the sync reads, once: the emulator generates its tenant
        rows, requests, _ = _fetch_all(None)
        result = {"rows": rows, "requests": requests}
    else:
        from .naive import run_naive

        result = run_naive()
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
