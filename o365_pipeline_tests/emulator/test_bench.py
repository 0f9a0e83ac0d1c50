"""The serving-speed benchmark runs end to end at `small` scale and reads exactly the tenant's messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.bench import main

from .conftest import truth


@pytest.mark.parametrize(("client", "select"), [("httpx", ""), ("stdlib", "subject,receivedDateTime")])
def test_bench_small_reads_every_message(server: EmulatorServer, tmp_path: Path, client: str, select: str) -> None:
    out = tmp_path / "bench.json"
    args = ["--scale", "small", "--start-scales", "small", "--threads", "4", "--client", client, "--json", str(out)]
    assert main([*args, "--select", select]) == 0
    figures = json.loads(out.read_text())
    want = truth(server)["messages"]["count"]  # same seed and scale as the bench's own emulator process
    assert [p["name"] for p in figures["passes"]] == ["cold", "warm"]
    for p in figures["passes"]:
        assert p["items"] == want
        assert p["pages"] >= figures["streams"] > 0
        per_item = p["bytes"] / p["items"]
        assert (per_item < 1000) if select else (per_item > 2000)  # $select really cuts the payload
        assert p["items_per_s"] > 0 and p["mb_per_s"] > 0 and p["server_cpu_s"] >= 0
    (start,) = figures["start"]
    assert start["scale"] == "small" and 0 < start["start_s"] < 30 and start["peak_rss_mb"] > 10
    assert figures["serving_peak_rss_mb"] >= 10
