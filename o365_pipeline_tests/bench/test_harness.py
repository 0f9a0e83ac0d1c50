"""The benchmark harness end to end at a tiny scale: emulator processes, fresh child processes, results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o365_pipeline.bench.main import run
from o365_pipeline.bench.report import TARGETS

CONTRACT_KEYS = {
    "full": {"rows", "rows_per_s", "requests", "seconds", "peak_rss_mb"},
    "fetch_limit": {"rows_per_s"},
    "storage_limit": {"rows_per_s"},
    "naive": {"seconds", "requests"},
    "incremental_nochange": {"requests", "seconds"},
    "incremental_1pct": {"rows_changed", "rows_fetched", "requests", "seconds"},
    "throttled": {"seconds", "theoretical_min_seconds", "failed_requests"},
    "scale2x": {"seconds", "peak_rss_mb"},
    "dbt_build": {"seconds"},
    "large": {"rows", "seconds", "peak_rss_mb"},
    "latency": {"seconds", "theoretical_min_seconds", "requests", "baseline_seconds"},
}


def test_the_harness_writes_every_contract_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("O365_ENTITIES", "O365_USERS"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "bench" / "results.json"
    assert run("small", out, throttle_seconds=1.0, workdir=tmp_path / "work", users=6) == 0
    results = json.loads(out.read_text())
    assert results["scale"] == "small" and "cores" in results["machine"]
    for section, keys in CONTRACT_KEYS.items():
        assert keys <= set(results[section]), section
    full = results["full"]
    assert full["rows"] > 0 and full["requests"] > 0 and full["peak_rss_mb"] > 50
    assert results["fetch_limit"]["rows"] == full["rows"]  # the same pages as the sync
    assert results["incremental_nochange"]["requests"] < full["requests"]
    assert results["incremental_1pct"]["rows_changed"] > 0 and results["incremental_1pct"]["rows_fetched"] > 0
    assert results["naive"]["requests"] > 0 and results["scale2x"]["rows"] > full["rows"]
    assert results["throttled"]["theoretical_min_seconds"] > 0 and results["dbt_build"]["seconds"] > 0
    assert results["large"]["rows"] > results["scale2x"]["rows"]  # ten times the users
    latency = results["latency"]
    assert latency["baseline_seconds"] > 0 and latency["requests"] > 0
    assert latency["theoretical_min_seconds"] >= max(latency["slowest_mailbox_bound_seconds"], full["seconds"])
    assert latency["longest_chain_pages"] >= 1
    assert len(results["targets"]) == len(TARGETS)
    assert "| full sync |" in capsys.readouterr().out
