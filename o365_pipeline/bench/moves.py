"""A move-heavy change with either Outlook id type: ``python -m o365_pipeline.bench.moves [--scale bench]``.

For each id type, a fresh emulator (same seed) and database: a full sync of the mail tables, then 1% of the
messages moved to another folder, then an incremental sync. Prints the second sync's requests, rows per table
(the pipeline's figures: rows loaded, removals included; deleted, stored attachments dropped included) and
attachment requests, and checks the tables equal the emulator's truth in that id type.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from ..auth import O365Auth
from ..config import PipelineConfig
from ..emulator.process import EmulatorProcess
from ..sync import run_sync

TABLES = ("mail_folders", "messages", "message_attachments")


def measure(scale: str, id_type: str, work: Path, share: float = 0.01) -> dict[str, Any]:
    """The incremental sync after moving ``share`` of the messages, with ``id_type`` ids."""
    with EmulatorProcess(scale, work / "emulator", seed=1) as emulator:
        saved = dict(os.environ)
        os.environ.update(
            {
                **emulator.env,
                "O365_DUCKDB_PATH": str(work / "o365.duckdb"),
                "DLT_DATA_DIR": str(work / "dlt"),
                "O365_ENTITIES": ",".join(TABLES),
                "O365_OUTLOOK_ID_TYPE": id_type,
            }
        )
        try:
            run_sync(O365Auth.from_env(), PipelineConfig.from_env())
            messages = emulator.admin("GET", "truth")["entities"]["messages"]["count"]
            moves = max(1, round(messages * share))
            emulator.admin("POST", "mutate", {"seed": 3, "ops": [{"entity": "messages", "op": "move", "count": moves}]})
            emulator.admin("POST", "stats/reset")
            report = run_sync(O365Auth.from_env(), PipelineConfig.from_env())
            by_route = emulator.admin("GET", "stats")["by_route"]
            truth = emulator.admin("GET", f"truth?idType={id_type}")["entities"]
            equal = all(_stored_digest(work / "o365.duckdb", name) == truth[name]["ids_sha256"] for name in TABLES)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    stats = report.stats
    return {
        "id_type": id_type,
        "messages": messages,
        "moved": moves,
        "requests": sum(s.requests for s in stats.values()),
        "rows": {name: stats[name].rows for name in TABLES},  # rows handed to the load, removals included
        "deleted": {name: stats[name].deleted for name in TABLES},  # removals, and stored children dropped
        "attachment_requests": sum(by_route.get("message_attachments", {}).values()),
        "batches": sum(by_route.get("batch", {}).values()),
        "seconds": round(report.seconds, 2),
        "equals_truth": equal,
    }


def _stored_digest(path: Path, table: str) -> str:
    """The ids digest of a per-mailbox raw table, as ``/_emulator/truth`` computes it."""
    with duckdb.connect(str(path), read_only=True) as con:
        ids = sorted(row[0] for row in con.execute(f"select user_id || '/' || id from o365_raw.{table}").fetchall())
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def main() -> None:
    """Print the figures of both id types, one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench")
    parser.add_argument("--share", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="o365-moves-") as tmp:
        for id_type in ("regular", "immutable"):
            work = Path(tmp) / id_type
            work.mkdir()
            print(measure(args.scale, id_type, work, args.share), flush=True)


if __name__ == "__main__":
    main()
