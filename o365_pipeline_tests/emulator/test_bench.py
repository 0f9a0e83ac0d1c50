"""The serving-speed benchmark runs end to end at `small` scale and reads exactly the tenant's messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.bench import main

from .conftest import truth


@pytest.mark.parametrize("client", ["httpx", "stdlib"])
def test_bench_small_reads_every_message(server: EmulatorServer, tmp_path: Path, client: str) -> None:
    out = tmp_path / "bench.json"
    args = ["--scale", "small", "--start-scales", "small", "--threads", "4", "--client", client, "--json", str(out)]
    assert main(args) == 0
    figures = json.loads(out.read_text())
    want = truth(server)["messages"]["count"]  # same seed and scale as the bench's own emulator process
    assert [p["name"] for p in figures["passes"]] == ["cold", "warm"]
    for p in figures["passes"]:
        assert p["items"] == want
        assert p["pages"] >= figures["streams"] > 0
        assert p["bytes"] > p["items"] * 100 and p["items_per_s"] > 0 and p["mb_per_s"] > 0
    (start,) = figures["start"]
    assert start["scale"] == "small" and 0 < start["start_s"] < 30 and start["peak_rss_mb"] > 10
    assert figures["serving_peak_rss_mb"] >= 10
