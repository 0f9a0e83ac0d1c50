"""Client-side pacing: the paced client stays within limits that the emulator enforces, and settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import SettingError
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.client import GraphClient
from o365_pipeline.graph.errors import GraphError
from o365_pipeline.graph.fanout import fan_out
from o365_pipeline.graph.pacing import Limit, PacingSettings, mailbox_of
from o365_pipeline.sync import make_client
from o365_pipeline_tests.conftest import admin, use_emulator


def test_limits_read_from_settings_and_bad_ones_name_the_setting() -> None:
    settings = PacingSettings.from_env({"O365_GRAPH_LIMIT": "300/2", "O365_MAILBOX_LIMIT": "10000/10m"})
    assert settings.overall == Limit(300, 2.0) and settings.mailbox == Limit(10_000, 600.0)
    assert PacingSettings.from_env({}) == PacingSettings()  # Graph's documented limits by default
    assert PacingSettings().mailbox == Limit(10_000, 600.0) and PacingSettings().overall == Limit(130_000, 10.0)
    with pytest.raises(SettingError, match="^O365_MAILBOX_LIMIT: 'fast' is not a limit"):
        PacingSettings.from_env({"O365_MAILBOX_LIMIT": "fast"})
    with pytest.raises(SettingError, match="^O365_MAILBOX_CONCURRENCY: "):
        PacingSettings.from_env({"O365_MAILBOX_CONCURRENCY": "0"})


def test_batched_requests_count_in_their_own_mailbox() -> None:
    assert mailbox_of("/users/u1/mailFolders/f/messages/delta?$select=id") == "u1"
    assert mailbox_of("users/u2/calendarView/delta?startDateTime=x") == "u2"
    assert mailbox_of("/users/u3/drive/root/delta") is None and mailbox_of("/groups/g/members") is None


@pytest.fixture
def throttled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=5, scale="small", throttle=True, state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def test_a_paced_client_never_exceeds_the_limits_the_emulator_enforces(
    throttled: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin(throttled, "POST", "throttle", {"window_s": 1.0, "global_requests": 60, "outlook_requests": 15})
    monkeypatch.setenv("O365_GRAPH_LIMIT", "60/1")
    monkeypatch.setenv("O365_MAILBOX_LIMIT", "15/1")
    with make_client(O365Auth.from_env()) as client:
        users = [u["id"] for u in client.get("users", params={"$select": "id,mail", "$top": "999"})["value"]]
        users = [user for user in users if _readable(client, user)][:6]
        admin(throttled, "POST", "stats/reset")
        started = time.monotonic()
        list(fan_out(users, lambda user: _burst(client, user), workers=8))  # 8 threads, as fast as allowed
        seconds = time.monotonic() - started
    stats = admin(throttled, "GET", "stats").json()
    served = sum(
        n for route, codes in stats["by_route"].items() if route != "admin_stats_reset" for n in codes.values()
    )
    assert stats["throttled"] == 0, stats["by_route"]  # never once over a limit the emulator counts
    assert served >= 180 and seconds >= served / 60 - 1.5  # and the limit, not the emulator, set the pace


def _readable(client: GraphClient, user: str) -> bool:
    try:
        client.get(f"users/{user}/mailFolders", params={"$select": "id", "$top": "1"}, mailbox=user)
    except GraphError:
        return False
    return True


def _burst(client: GraphClient, user: str) -> Iterator[int]:
    """Twenty single requests to one mailbox and a $batch of ten more (each counts in that mailbox)."""
    for _ in range(20):
        client.get(f"users/{user}/mailFolders", params={"$select": "id", "$top": "1"}, mailbox=user)
    yield len(client.batch([(f"users/{user}/mailFolders?$select=id&$top={n}", None) for n in range(1, 11)]))
