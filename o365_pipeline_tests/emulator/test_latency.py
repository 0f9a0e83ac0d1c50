"""The latency model (emulator serve --latency, /_emulator/latency): Graph's response time and its 504s."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.latency import Latency, LatencyModel, batch_seconds, parse_latency
from o365_pipeline.emulator.process import EmulatorProcess
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import admin, assert_equals_truth, use_emulator

from .conftest import get_token, tls


def test_model_arithmetic_base_per_item_select_and_jitter_bounds() -> None:
    exact = Latency(LatencyModel(base_ms=150, per_item_ms=1.0, per_item_full_ms=5.0, jitter=0.0))
    assert exact.seconds(100, selected=True) == pytest.approx(0.250)
    assert exact.seconds(100, selected=False) == pytest.approx(0.650)  # full payloads are heavier
    assert exact.seconds(0, selected=True) == pytest.approx(0.150)
    assert Latency(LatencyModel(base_ms=0)).seconds(1000, selected=False) == 0.0  # off
    jittered = Latency(LatencyModel(base_ms=100, per_item_ms=0.0, jitter=0.3), seed=1)
    draws = [jittered.seconds(10, selected=True) for _ in range(2000)]
    assert 0.070 <= min(draws) < 0.075 and 0.125 < max(draws) <= 0.130  # factor uniform in [0.7, 1.3]
    assert sum(draws) / len(draws) == pytest.approx(0.100, rel=0.03)


def test_spec_parsing_and_clear_errors() -> None:
    assert parse_latency("150ms+1ms/item") == LatencyModel(base_ms=150, per_item_ms=1.0, jitter=0.3)
    assert parse_latency("0.2s+0.5ms/item,jitter=0.1,full=3ms,timeout=4s") == LatencyModel(
        base_ms=200, per_item_ms=0.5, per_item_full_ms=3.0, jitter=0.1, timeout_ms=4000
    )
    assert parse_latency("80ms").base_ms == 80 and not parse_latency("off").enabled
    for bad in ("fast", "150ms+1ms/item,jitter=1.5", "150ms,speed=2", "150ms,jitter=x"):
        with pytest.raises(ValueError, match="--latency"):
            parse_latency(bad)


def test_batch_schedule_outlook_four_at_a_time_others_parallel_depends_on_in_sequence() -> None:
    assert batch_seconds([(1.0, True, [])] * 8) == pytest.approx(2.0)  # 8 Outlook requests: 2 rounds of 4
    assert batch_seconds([(1.0, False, [])] * 8) == pytest.approx(1.0)  # directory requests all at once
    assert batch_seconds([(0.5, True, []), (0.5, True, [0]), (0.5, True, [1])]) == pytest.approx(1.5)
    assert batch_seconds([(0.3, True, []), (0.3, True, []), (0.3, True, []), (0.3, True, []), (2.0, False, [])]) == (
        pytest.approx(2.0)  # the batch waits for its slowest request
    )
    assert batch_seconds([]) == 0.0


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorServer]:
    """A small tenant answering after exactly 200 ms plus 5 ms per full item (no jitter)."""
    with EmulatorServer(latency=LatencyModel(base_ms=200, per_item_ms=1.0, per_item_full_ms=5.0, jitter=0.0)) as s:
        yield s


def _clients(s: EmulatorServer, n: int) -> list[httpx.Client]:
    headers = {"Authorization": f"Bearer {get_token(s)}"}
    return [httpx.Client(base_url=f"{s.base_url}/v1.0", verify=tls(s), headers=headers, timeout=30) for _ in range(n)]


def test_concurrent_requests_wait_side_by_side_not_one_after_the_other(slow: EmulatorServer) -> None:
    clients = _clients(slow, 10)
    uid = clients[0].get("/users?$top=1&$select=id").json()["value"][0]["id"]
    with cf.ThreadPoolExecutor(10) as pool:  # connections and TLS set up before timing
        assert list(pool.map(lambda c: c.get(f"/users/{uid}?$select=id").status_code, clients)) == [200] * 10
    started = time.monotonic()
    with cf.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda c: c.get(f"/users/{uid}?$select=id").status_code, clients))
    elapsed = time.monotonic() - started
    assert codes == [200] * 10
    assert 0.2 <= elapsed < 0.7, f"10 concurrent 200 ms answers took {elapsed:.2f} s (serial would be 2 s)"
    for c in clients:
        c.close()


def test_a_burst_of_new_connections_is_accepted_without_syn_retries(slow: EmulatorServer) -> None:
    headers = {"Authorization": f"Bearer {get_token(slow)}"}
    context = tls(slow)

    def fresh_connection(_: int) -> float:
        started = time.monotonic()
        with httpx.Client(verify=context, headers=headers, timeout=30) as c:
            assert c.get(f"{slow.base_url}/v1.0/organization?$select=id").status_code == 200
        return time.monotonic() - started

    with cf.ThreadPoolExecutor(60) as pool:
        seconds = sorted(pool.map(fresh_connection, range(60)))
    # a connection the listen backlog dropped is retried by the client's kernel after 1 s
    assert seconds[-1] < 0.95, f"slowest of 60 new connections: {seconds[-1]:.2f} s (median {seconds[30]:.2f} s)"


def test_batch_answer_waits_for_its_slowest_inner_request(slow: EmulatorServer) -> None:
    (c,) = _clients(slow, 1)
    uid = c.get("/users?$top=1&$select=id").json()["value"][0]["id"]

    def timed_batch(url: str) -> float:
        started = time.monotonic()
        r = c.post("/$batch", json={"requests": [{"id": str(i), "method": "GET", "url": url} for i in range(8)]})
        assert r.status_code == 200 and {a["status"] for a in r.json()["responses"]} == {200}
        return time.monotonic() - started

    outlook = timed_batch(f"/users/{uid}/mailFolders/inbox?$select=id")  # 1 item each, 4 at a time: 2 rounds
    directory = timed_batch(f"/users/{uid}?$select=id")  # all 8 at once
    assert 0.40 <= outlook < 0.65, outlook
    assert 0.20 <= directory < 0.40, directory


def test_oversized_slow_pages_answer_504_after_the_timeout(fresh: EmulatorServer) -> None:
    (c,) = _clients(fresh, 1)
    uid = next(
        u["id"]
        for u in c.get("/users?$select=id&$top=50").json()["value"]
        if len(c.get(f"/users/{u['id']}/messages?$top=25&$select=id").json().get("value", [])) == 25
    )
    model = {"base_ms": 10, "per_item_ms": 1.0, "per_item_full_ms": 5.0, "jitter": 0, "timeout_ms": 100}
    assert admin(fresh, "POST", "latency", model).json()["enabled"] is True
    started = time.monotonic()
    full = c.get(f"/users/{uid}/messages?$top=25")  # 10 + 25 * 5 = 135 ms > 100 ms
    assert full.status_code == 504 and full.json()["error"]["code"] == "GatewayTimeout"
    assert 0.1 <= time.monotonic() - started < 0.35  # the gateway gave up after its timeout
    started = time.monotonic()
    selected = c.get(f"/users/{uid}/messages?$top=25&$select=id,subject")  # 10 + 25 * 1 = 35 ms
    assert selected.status_code == 200 and len(selected.json()["value"]) == 25
    assert 0.035 <= time.monotonic() - started < 0.25
    directory = c.get("/users?$top=25")  # not Outlook (no bodies): 1 ms per item in full too, 20 users in 30 ms
    assert directory.status_code == 200 and len(directory.json()["value"]) == 20
    stats = admin(fresh, "GET", "stats").json()
    assert stats["faults"]["latency_504"] == 1
    assert stats["latency"]["slowest_mailbox_seconds"] == pytest.approx(0.1 + 0.035, abs=0.005)


def test_admin_route_reads_sets_defaults_and_turns_off(fresh: EmulatorServer) -> None:
    (c,) = _clients(fresh, 1)
    assert c.get("/users?$top=1&$select=id").status_code == 200  # connection set up while latency is off
    assert admin(fresh, "GET", "latency").json()["enabled"] is False  # off by default: demo and tests stay fast
    on = admin(fresh, "POST", "latency", {"base_ms": 150, "per_item_ms": 1.0, "jitter": 0.3}).json()
    assert on == {**on, "enabled": True, "base_ms": 150, "per_item_ms": 1.0, "jitter": 0.3}
    assert admin(fresh, "POST", "latency", {}).json()["base_ms"] == 150  # absent fields: the documented defaults
    assert admin(fresh, "GET", "latency").json()["timeout_ms"] == 2500
    assert admin(fresh, "POST", "latency", {"base_ms": 0}).json()["enabled"] is False
    url = f"{fresh.base_url}/_emulator/latency"
    bad = httpx.post(url, json={"base_ms": 100, "speed": 2}, verify=tls(fresh))
    assert bad.status_code == 400 and "speed" in bad.json()["error"]["message"]
    assert httpx.post(url, json={"jitter": 1.5}, verify=tls(fresh)).status_code == 400
    assert admin(fresh, "GET", "latency").json()["enabled"] is False  # a refused setting changes nothing
    started = time.monotonic()
    assert c.get("/users?$top=1&$select=id").status_code == 200
    assert time.monotonic() - started < 0.1  # off again (the default model would take at least 105 ms)


def test_cli_flag_sets_the_model_and_rejects_a_bad_spec(tmp_path: Path) -> None:
    with EmulatorProcess("small", tmp_path / "emu", latency="50ms+2ms/item,jitter=0.1") as emu:
        model = emu.admin("GET", "latency")
    assert model == {**model, "enabled": True, "base_ms": 50, "per_item_ms": 2.0, "jitter": 0.1}
    cli = Path(sys.executable).with_name("o365-pipeline")
    bad = subprocess.run(
        [str(cli), "emulator", "serve", "--latency", "slow"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--latency" in bad.stderr


def test_sync_under_latency_and_gateway_timeouts_equals_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small latency so the test takes seconds. Every answer is modelled at 10 ms x a factor in [0.5, 1.5] against
    # a 14.75 ms timeout: each of the sync's ~630 requests answers 504 with probability 2.5% (~15 expected; none
    # at all ~1e-7), and no page is likely to time out on all of the client's 8 attempts (0.025^8). Per-item cost
    # is 0 so that the small tenant's 200-item sign-in page is not a near-certain 504 on every attempt.
    model = LatencyModel(base_ms=10, per_item_ms=0.0, per_item_full_ms=0.0, jitter=0.5, timeout_ms=14.75)
    with EmulatorServer(seed=21, scale="small", latency=model, state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        run_sync(O365Auth.from_env(), PipelineConfig.from_env())
        stats = admin(emulator, "GET", "stats").json()
        timed_out = stats["faults"].get("latency_504", 0)
        assert timed_out > 0, "no answer timed out: the test proves nothing"
        assert sum(codes.get("504", 0) for codes in stats["by_route"].values()) == timed_out  # answered as 504s
        assert stats["latency"]["seconds"] > 0
        assert_equals_truth(emulator)
