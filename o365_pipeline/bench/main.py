"""``o365-pipeline bench``: run the harness, write the results document, print the Markdown table."""

from __future__ import annotations

import json
from pathlib import Path

from .harness import run_bench
from .report import judge, markdown


def run(
    scale: str,
    out: str | Path,
    *,
    throttle_seconds: float = 20.0,
    workdir: str | Path | None = None,
    users: int | None = None,
) -> int:
    """Run every scenario at ``scale``; write ``out`` (JSON) and print the tables; returns 0."""
    results = run_bench(
        scale, workdir=Path(workdir) if workdir else None, throttle_seconds=throttle_seconds, users=users
    )
    results["targets"] = judge(results)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nresults written to {path}")
    return 0
