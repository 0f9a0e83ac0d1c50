"""What must never block or burden later runs: a failed run, deleted mailboxes, odd values Graph sends.

Each test runs the headless sync (the same code as the Dagster assets) against its own emulator and checks the
raw tables against /_emulator/truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, assert_equals_truth, use_emulator


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator with the settings pointing at it and a fresh DuckDB file."""
    with EmulatorServer(seed=21, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync(entities: tuple[str, ...] = ()) -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=entities)


def answered(emulator: EmulatorServer, status: str) -> int:
    """Requests the emulator answered with ``status`` since its counters were last reset."""
    by_route = admin(emulator, "GET", "stats").json()["by_route"]
    return sum(statuses.get(status, 0) for statuses in by_route.values())


def test_deleted_mailboxes_are_forgotten_after_their_rows_go(tenant: EmulatorServer) -> None:
    sync()
    deleted = admin(tenant, "POST", "mutate", {"seed": 1, "ops": [{"entity": "users", "op": "delete", "count": 2}]})
    gone = set(deleted.json()["changes"][0]["ids"])
    sync()  # drops the deleted users' rows, and their streams with them
    assert_equals_truth(tenant)
    admin(tenant, "POST", "stats/reset")
    later = sync()
    assert answered(tenant, "404") == 0  # before: 45 on every run, their stored streams asked again
    assert not gone & set(later.requests_by_mailbox)
    assert_equals_truth(tenant)
