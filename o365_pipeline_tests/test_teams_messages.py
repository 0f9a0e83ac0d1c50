"""Teams channel messages, replies and members against the emulator: what a sync loads, what an incremental one
changes (a deleted message leaves, an edited one updates, a new reply arrives) and a missing protected permission.

The tests run the headless sync (the same code as the Dagster assets) in-process on the Teams tables only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.identity import APP_ROLES
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator

TEAMS_TABLES = ("teams", "channels", "channel_messages", "channel_message_replies", "team_members", "channel_members")
CHANNEL_TABLES = ("channel_messages", "channel_message_replies", "channel_members")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator with the settings pointing at it and a fresh DuckDB file."""
    with EmulatorServer(seed=5, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync() -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=TEAMS_TABLES)


def assert_equal_truth(emulator: EmulatorServer, tables: tuple[str, ...] = TEAMS_TABLES) -> None:
    expected = truth(emulator)
    for table in tables:
        bare, keyed = raw_ids(table)
        assert len(keyed) == len(set(keyed)) == expected[table]["count"], table
        assert expected[table]["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql).fetchall()


def mutate(emulator: EmulatorServer, table: str, op: str, count: int = 1) -> list[str]:
    done = admin(emulator, "POST", "mutate", {"seed": 7, "ops": [{"entity": table, "op": op, "count": count}]})
    return list(done.json()["changes"][0]["ids"])


def test_an_incremental_sync_drops_deleted_messages_updates_edited_ones_and_adds_new_replies(
    tenant: EmulatorServer,
) -> None:
    sync()
    assert_equal_truth(tenant)
    assert rows("select count(*) from o365_raw.channel_messages where team_id is null or channel_id is null") == [(0,)]
    replies = rows(
        "select count(*) from o365_raw.channel_message_replies r join o365_raw.channel_messages m "
        "on m.id = r.message_id and m.channel_id = r.channel_id"
    )
    assert replies == [(truth(tenant)["channel_message_replies"]["count"],)]  # every reply names its message

    deleted = mutate(tenant, "channel_messages", "delete")
    edited = mutate(tenant, "channel_messages", "update")
    created = mutate(tenant, "channel_messages", "create")
    new_replies = mutate(tenant, "channel_message_replies", "create", 2)
    gone_reply = mutate(tenant, "channel_message_replies", "delete")
    report = sync()
    assert_equal_truth(tenant)
    messages = dict(rows("select id, body__content from o365_raw.channel_messages"))
    assert deleted[0] not in messages and created[0] in messages
    assert messages[edited[0]].startswith("<p>Edited at ")
    stored_replies = {row[0] for row in rows("select id from o365_raw.channel_message_replies")}
    assert set(new_replies) - set(gone_reply) <= stored_replies and gone_reply[0] not in stored_replies
    assert 0 < report.stats["channel_messages"].rows <= 3 + 3  # changed reply chains only, not every message
    assert report.stats["channel_messages"].deleted >= 1

    again = sync()  # nothing changed: one empty delta page per channel, nothing loaded
    assert again.stats["channel_messages"].rows == again.stats["channel_message_replies"].rows == 0
    assert_equal_truth(tenant)


def test_a_missing_protected_permission_skips_the_message_tables_only(
    tenant: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    tenant.emu.identity.default_app.roles = [role for role in APP_ROLES if role != "ChannelMessage.Read.All"]
    with caplog.at_level(logging.WARNING):
        report = sync()
    denied = {name: stats.denied for name, stats in report.stats.items() if stats.denied is not None}
    assert sorted(denied) == ["channel_message_replies", "channel_messages"]
    assert {refused.permission for refused in denied.values()} == {"ChannelMessage.Read.All"}
    warnings = [r.getMessage() for r in caplog.records if "not read: Graph refused" in r.getMessage()]
    assert len(warnings) == 2 and all("protected Teams API" in line for line in warnings)
    assert_equal_truth(tenant, ("teams", "channels", "team_members", "channel_members"))
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "channel_messages" not in tables

    tenant.emu.identity.default_app.roles = list(APP_ROLES)  # Microsoft approved the app: the next run reads them
    sync()
    assert_equal_truth(tenant)
