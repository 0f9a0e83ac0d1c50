"""What a real tenant does to a sync: throttling, dropped connections, expired delta tokens, unreadable mailboxes.

Each test runs the headless sync (the same code as the Dagster assets) against its own emulator and checks the
raw tables against /_emulator/truth: nothing lost, nothing duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, assert_equals_truth, truth, use_emulator


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator (its own seed) with the settings pointing at it and a fresh DuckDB file."""
    with EmulatorServer(seed=21, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync(full_refresh: bool = False) -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env(), full_refresh=full_refresh)


def test_throttling_and_broken_connections_lose_and_duplicate_nothing(tenant: EmulatorServer) -> None:
    faults = {"429": 0.04, "503": 0.02, "reset": 0.01, "truncate": 0.01, "retry_after_date": 0.005}
    admin(tenant, "POST", "faults", faults)
    first = sync()
    assert sum(stats.throttled for stats in first.stats.values()) > 0  # the faults really happened
    assert_equals_truth(tenant)
    admin(tenant, "POST", "mutate", {"seed": 2, "ops": [{"entity": "messages", "op": "delete", "count": 5}]})
    sync()
    assert_equals_truth(tenant)


def test_expired_delta_tokens_resync_each_stream_and_reconcile_deletions(tenant: EmulatorServer) -> None:
    sync()
    ops = [
        {"entity": entity, "op": op, "count": 3}
        for entity in ("messages", "events", "contacts", "drive_items", "users")
        for op in ("create", "delete")
    ]
    admin(tenant, "POST", "mutate", {"seed": 3, "ops": ops})
    admin(tenant, "POST", "faults", {"expire_delta": 1.0})  # every stored deltaLink is refused
    resynced = sync()
    assert resynced.stats["messages"].deleted >= 3  # deletions found by reconciling, not reported by delta
    assert_equals_truth(tenant)
    admin(tenant, "POST", "faults", {})
    quiet = sync()
    assert quiet.stats["messages"].rows == 0 and quiet.stats["users"].rows == 0
    assert_equals_truth(tenant)


def test_full_refresh_rereads_everything_into_the_same_tables(tenant: EmulatorServer) -> None:
    sync()
    refreshed = sync(full_refresh=True)
    assert refreshed.stats["messages"].rows == truth(tenant)["messages"]["count"]
    assert_equals_truth(tenant)


def test_unreadable_mailboxes_are_skipped_and_counted(tenant: EmulatorServer) -> None:
    report = sync()
    # the small tenant has unlicensed members (MailboxNotEnabledForRESTAPI) and one mailbox outside the
    # application access policy (403 ErrorAccessDenied): skipped, not fatal
    assert report.stats["messages"].skipped >= 2
    assert report.stats["drive_items"].skipped >= 1
    assert_equals_truth(tenant)


def test_a_throttled_tenant_syncs_completely_without_failed_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=21, scale="small", throttle=True, state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        admin(emulator, "POST", "throttle", {"global_requests": 150})  # a limit the full sync must wait on
        report = sync()
        assert sum(stats.throttled for stats in report.stats.values()) > 0
        assert_equals_truth(emulator)
        by_route = admin(emulator, "GET", "stats").json()["by_route"]
        assert any("429" in statuses for statuses in by_route.values())
        assert not [route for route, statuses in by_route.items() if any(code >= "500" for code in statuses)]


def test_duckdb_out_of_memory_names_the_setting_and_the_next_run_loses_nothing(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from o365_pipeline.cli import main

    sync()
    admin(tenant, "POST", "mutate", {"seed": 4, "ops": [{"entity": "messages", "op": "update", "count": 20}]})
    monkeypatch.setenv("O365_DUCKDB_MEMORY_LIMIT", "1MB")
    assert main(["sync", "--progress-seconds", "0"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: DuckDB ran out of memory") and "O365_DUCKDB_MEMORY_LIMIT" in error
    monkeypatch.delenv("O365_DUCKDB_MEMORY_LIMIT")
    assert sync().stats["messages"].rows >= 20  # the changes the failed run read are read again
    assert_equals_truth(tenant)


def test_only_the_last_loaded_state_is_kept_in_the_destination(tenant: EmulatorServer) -> None:
    import duckdb

    from o365_pipeline.sync import make_pipeline

    sync()
    admin(tenant, "POST", "mutate", {"seed": 5, "ops": [{"entity": "messages", "op": "update", "count": 3}]})
    sync()
    config = PipelineConfig.from_env()
    with duckdb.connect(str(config.duckdb_path), read_only=True) as con:
        states = con.execute(f"select _dlt_load_id from {config.dataset}._dlt_pipeline_state").fetchall()
        loads = con.execute(f"select load_id from {config.dataset}._dlt_loads order by load_id").fetchall()
    assert len(loads) == 2 and states == [loads[-1]]  # each run wrote one; the older one went
    pipeline = make_pipeline(config)
    pipeline.drop()
    pipeline.sync_destination()  # the kept row is the state the next run restores
    assert pipeline.state["_state_version"] >= 2 and pipeline.state["sources"]["o365"]["resources"]["messages"]
    assert sync().stats["messages"].rows == 0
    assert_equals_truth(tenant)
