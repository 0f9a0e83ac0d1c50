"""Attachment tables ride on their parents' delta rounds when a run reads both, and still read on their own when a
run reads them alone, after rides too: equal to the emulator's truth through creates, updates, deletes and moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, truth, use_emulator
from o365_pipeline_tests.test_budget import assert_equals_truth_for, stored_links

PARENTS = ("mail_folders", "messages", "events")
ATTACHMENTS = ("message_attachments", "event_attachments")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=5, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync(monkeypatch: pytest.MonkeyPatch, tables: tuple[str, ...]) -> SyncReport:
    monkeypatch.setenv("O365_ENTITIES", ",".join(tables))
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env())


def mutate(emulator: EmulatorServer, seed: int) -> None:
    """Messages and events created, updated, deleted and moved; asserts some attachments came or went (whether a
    round of ops hits items with attachments depends on the seeded data: up to 3 more rounds make sure)."""
    before = {table: truth(emulator)[table]["ids_sha256"] for table in ATTACHMENTS}
    ops = [{"entity": "messages", "op": op, "count": 12} for op in ("create", "update", "delete", "move")]
    ops += [{"entity": "events", "op": op, "count": 12} for op in ("create", "update", "delete")]
    for attempt in range(4):
        admin(emulator, "POST", "mutate", {"seed": seed + 1000 * attempt, "ops": ops})
        if all(truth(emulator)[table]["ids_sha256"] != before[table] for table in ATTACHMENTS):
            return
    raise AssertionError("four rounds of mutations changed no attachment of some table")


def assert_equal_truth(emulator: EmulatorServer, tables: tuple[str, ...]) -> None:
    for table in tables:
        assert_equals_truth_for(emulator, table)


def test_attachment_tables_ride_on_their_parents_and_read_alone_after_rides(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sync(monkeypatch, PARENTS + ATTACHMENTS)
    assert_equal_truth(tenant, PARENTS + ATTACHMENTS)
    assert all(first.stats[table].rows > 0 for table in ATTACHMENTS)
    admin(tenant, "POST", "stats/reset")
    mutate(tenant, seed=1)
    ridden = sync(monkeypatch, PARENTS + ATTACHMENTS)
    assert_equal_truth(tenant, PARENTS + ATTACHMENTS)
    by_route = admin(tenant, "GET", "stats").json()["by_route"]
    links = stored_links()
    # each parent delta stream was asked once (by the parent's reader), not once more for the attachments
    assert links["message_attachments"] == links["messages"]
    assert sum(by_route["messages_delta"].values()) <= links["messages"] + 5
    assert sum(by_route["events_delta"].values()) <= links["events"] + 5
    assert ridden.stats["message_attachments"].rows > 0

    mutate(tenant, seed=2)
    alone = sync(monkeypatch, ATTACHMENTS)  # from the links the rides kept: the changes since the last ride
    assert_equal_truth(tenant, ATTACHMENTS)
    assert 0 < alone.stats["message_attachments"].requests < first.stats["messages"].requests

    mutate(tenant, seed=3)
    sync(monkeypatch, PARENTS + ATTACHMENTS)  # the parents catch up over two mutations, the attachments ride
    assert_equal_truth(tenant, PARENTS + ATTACHMENTS)

    mutate(tenant, seed=4)
    sync(monkeypatch, PARENTS)  # the parents move on alone: their next changes do not hold these
    mutate(tenant, seed=5)
    sync(monkeypatch, PARENTS + ATTACHMENTS)  # the attachments catch up on their own streams while riding
    assert_equal_truth(tenant, PARENTS + ATTACHMENTS)
    admin(tenant, "POST", "stats/reset")
    sync(monkeypatch, PARENTS + ATTACHMENTS)  # ...and ride alone from then on
    asked = admin(tenant, "GET", "stats").json()["by_route"]["messages_delta"]
    assert 0 < sum(asked.values()) <= stored_links()["messages"]


def test_a_resynced_parent_stream_drops_the_attachments_of_parents_gone_meanwhile(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(monkeypatch, PARENTS + ATTACHMENTS)
    before = {table: truth(tenant)[table]["ids_sha256"] for table in ATTACHMENTS}
    ops = [{"entity": entity, "op": "delete", "count": 40} for entity in ("messages", "events")]
    admin(tenant, "POST", "mutate", {"seed": 3, "ops": ops})
    assert all(truth(tenant)[table]["ids_sha256"] != before[table] for table in ATTACHMENTS)
    admin(tenant, "POST", "faults", {"expire_delta": 1.0})  # full rounds, which do not list what was deleted
    sync(monkeypatch, PARENTS + ATTACHMENTS)
    assert_equal_truth(tenant, PARENTS + ATTACHMENTS)
