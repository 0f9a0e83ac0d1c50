"""Many requests in flight at once, never more than Outlook's 4 for any one mailbox (the throttling emulator
answers 429 to a fifth), checked against the emulator with Graph's latency on."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.latency import LatencyModel
from o365_pipeline.graph.errors import GraphError
from o365_pipeline.graph.tenant import Tenant
from o365_pipeline.sync import make_client
from o365_pipeline_tests.conftest import admin, use_emulator


@pytest.fixture
def slow_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    latency = LatencyModel(base_ms=100, per_item_ms=0.0, jitter=0.1)
    with EmulatorServer(seed=5, scale="small", throttle=True, latency=latency, state_dir=tmp_path / "emu") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        admin(emulator, "POST", "throttle", {"global_requests": 100_000, "outlook_requests": 100_000})
        yield emulator


def test_many_mailboxes_at_once_each_at_most_four_in_flight(
    slow_tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O365_MAX_IN_FLIGHT", "64")
    with make_client(O365Auth.from_env()) as client:

        def readable(mailbox: str) -> bool:
            try:
                client.get(f"users/{mailbox}/messages", params={"$top": "1"}, mailbox=mailbox)
            except GraphError:  # unlicensed, outside the access policy
                return False
            return True

        mailboxes = [user.id for user in Tenant(client, ()).users_for_content() if readable(user.id)][:8]
        assert len(mailboxes) == 8 and client.max_in_flight == 64
        admin(slow_tenant, "POST", "stats/reset")
        asked = [mailbox for mailbox in mailboxes for _ in range(12)]  # 96 at once: 12 per mailbox

        def read(mailbox: str) -> int:
            return len(client.get(f"users/{mailbox}/messages", params={"$top": "1"}, mailbox=mailbox)["value"])

        with ThreadPoolExecutor(len(asked)) as pool:
            pages = list(pool.map(read, asked))
    by_route = admin(slow_tenant, "GET", "stats").json()["by_route"]
    assert len(pages) == 96
    assert not [route for route, statuses in by_route.items() if "429" in statuses]  # never a fifth in flight
