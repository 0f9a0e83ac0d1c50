"""Outlook ids: a new database stores immutable ids (a moved message keeps its id and its row, its attachments are
not read again); a database holding regular ids keeps them, refuses a contradicting O365_OUTLOOK_ID_TYPE in one
line, and switches with the documented full refresh of its Outlook tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig, SettingError
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.outlook_ids import MARKER_TABLE, OUTLOOK_TABLES, switch_command
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator

TABLES = ("mail_folders", "messages", "message_attachments", "contact_folders", "contacts")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=9, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        monkeypatch.setenv("O365_ENTITIES", ",".join(TABLES))
        monkeypatch.delenv("O365_OUTLOOK_ID_TYPE", raising=False)
        yield emulator


def sync(entities: tuple[str, ...] = (), full_refresh: bool = False) -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=entities, full_refresh=full_refresh)


def move(emulator: EmulatorServer, seed: int) -> int:
    """Move seeded messages (each to another folder) and contacts; returns how many messages moved."""
    ops = [{"entity": "messages", "op": "move", "count": 24}, {"entity": "contacts", "op": "move", "count": 4}]
    changes = admin(emulator, "POST", "mutate", {"seed": seed, "ops": ops}).json()["changes"]
    return len(changes[0]["ids"]) // 2  # the new id, then the old one


def assert_equals_truth(emulator: EmulatorServer, id_type: str = "immutable") -> None:
    """Every table synced holds the emulator's ids (in ``id_type``), each once."""
    expected = truth(emulator, id_type)
    synced = {name for (name,) in query("select table_name from information_schema.tables")}
    for table in sorted(synced & set(expected)):
        bare, keyed = raw_ids(table)
        assert len(keyed) == len(set(keyed)) == expected[table]["count"], table
        assert expected[table]["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table
    assert set(TABLES) <= synced


def query(sql: str) -> list[tuple]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql).fetchall()


def attachment_requests(emulator: EmulatorServer) -> int:
    return sum(admin(emulator, "GET", "stats").json()["by_route"].get("message_attachments", {}).values())


def test_the_readme_shows_the_switch_command_of_every_outlook_table() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert switch_command("immutable") in readme
    assert {"messages", "message_attachments", "events", "event_attachments", "contacts"} <= set(OUTLOOK_TABLES)


def test_a_moved_message_keeps_its_id_and_row_and_its_attachments_are_not_read_again(
    tenant: EmulatorServer,
) -> None:
    sync()
    assert_equals_truth(tenant)
    assert query(f"select id_type, pending from o365_raw.{MARKER_TABLE}") == [("immutable", None)]
    before = dict(query("select user_id || '/' || id, parent_folder_id from o365_raw.messages"))
    with_files = {key for (key,) in query("select user_id || '/' || message_id from o365_raw.message_attachments")}
    moved = move(tenant, seed=1)
    admin(tenant, "POST", "stats/reset")
    report = sync()
    assert_equals_truth(tenant)
    after = dict(query("select user_id || '/' || id, parent_folder_id from o365_raw.messages"))
    changed = {key for key in after if after[key] != before.get(key)}
    assert after.keys() == before.keys() and len(changed) == moved  # same ids, the folder updated in place
    assert report.stats["messages"].rows == moved and report.stats["messages"].deleted == 0
    assert changed & with_files  # some moved messages have attachments...
    assert attachment_requests(tenant) == 0  # ...which were not read again
    assert report.stats["message_attachments"].rows == report.stats["message_attachments"].deleted == 0
    assert report.stats["contacts"].rows == 4 and report.stats["contacts"].deleted == 0


def test_a_regular_id_database_keeps_them_refuses_a_contradiction_and_switches_with_a_full_refresh(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O365_OUTLOOK_ID_TYPE", "regular")
    sync()
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"]) as con:  # as a database synced before the marker existed
        con.execute(f"drop table o365_raw.{MARKER_TABLE}")
    monkeypatch.delenv("O365_OUTLOOK_ID_TYPE")
    moved = move(tenant, seed=1)
    admin(tenant, "POST", "stats/reset")
    report = sync()  # unset: the database's regular ids, with which a move is a delete and an insert
    assert_equals_truth(tenant, "regular")
    assert report.stats["messages"].rows == 2 * moved and report.stats["messages"].deleted == moved
    assert attachment_requests(tenant) > 0
    assert query(f"select id_type from o365_raw.{MARKER_TABLE}") == [("regular",)]

    monkeypatch.setenv("O365_OUTLOOK_ID_TYPE", "immutable")
    for entities, full_refresh in (((), False), (("messages", "message_attachments"), True)):
        with pytest.raises(SettingError) as refused:
            sync(entities, full_refresh)
        message = str(refused.value)
        assert "\n" not in message and message.startswith("O365_OUTLOOK_ID_TYPE: immutable contradicts the regular")
        assert f"o365-pipeline sync --full-refresh --entities {','.join(OUTLOOK_TABLES)}" in message
    assert_equals_truth(tenant, "regular")  # nothing loaded meanwhile

    sync(OUTLOOK_TABLES, full_refresh=True)  # the documented switch
    assert_equals_truth(tenant)
    assert query(f"select id_type, pending from o365_raw.{MARKER_TABLE}") == [("immutable", None)]
    monkeypatch.delenv("O365_OUTLOOK_ID_TYPE")
    move(tenant, seed=2)
    sync()
    assert_equals_truth(tenant)
