"""What must never block or burden later runs: a failed run, deleted mailboxes, odd values Graph sends.

Each test runs the headless sync (the same code as the Dagster assets) against its own emulator and checks the
raw tables against /_emulator/truth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.defs.ingestion import o365_raw_tables
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator with the settings pointing at it and a fresh DuckDB file."""
    with EmulatorServer(seed=21, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync(entities: tuple[str, ...] = (), full_refresh: bool = False) -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=entities, full_refresh=full_refresh)


def assert_tables_equal_truth(emulator: EmulatorServer, tables: tuple[str, ...]) -> None:
    """``tables`` hold what the emulator's tenant holds now: same keys, no duplicates."""
    expected = truth(emulator)
    for table in tables:
        bare, keyed = raw_ids(table)
        assert len(keyed) == len(set(keyed)) == expected[table]["count"], table
        assert expected[table]["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table


def answered(emulator: EmulatorServer, status: str) -> int:
    """Requests the emulator answered with ``status`` since its counters were last reset."""
    by_route = admin(emulator, "GET", "stats").json()["by_route"]
    return sum(statuses.get(status, 0) for statuses in by_route.values())


def test_deleted_mailboxes_are_forgotten_after_their_rows_go(tenant: EmulatorServer) -> None:
    mailbox_tables = ("mail_folders", "messages", "events", "contact_folders", "contacts", "drive_items")
    sync(mailbox_tables)
    deleted = admin(tenant, "POST", "mutate", {"seed": 1, "ops": [{"entity": "users", "op": "delete", "count": 2}]})
    gone = set(deleted.json()["changes"][0]["ids"])
    sync(mailbox_tables)  # drops the deleted users' rows, and their streams with them
    assert_tables_equal_truth(tenant, mailbox_tables)
    admin(tenant, "POST", "stats/reset")
    later = sync(mailbox_tables)
    assert answered(tenant, "404") == 0  # before: 45 on every run, their stored streams asked again
    assert not gone & set(later.requests_by_mailbox)
    assert_tables_equal_truth(tenant, mailbox_tables)


def test_an_item_without_its_id_is_refused_in_one_line_and_the_next_run_reads_it_again(
    tenant: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from o365_pipeline.cli import main

    entities = ("mail_folders", "messages")
    sync(entities)
    admin(tenant, "POST", "mutate", {"seed": 4, "ops": [{"entity": "messages", "op": "update", "count": 6}]})
    rule = {"path": "/mailFolders/[^/]+/messages/delta", "item_patch": {"first": 1, "remove": ["id"]}}
    admin(tenant, "POST", "inject", [rule])
    assert main(["sync", "--entities", ",".join(entities), "--progress-seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: messages: Graph sent an item without its id (GET /users/"), line
    assert "/messages/delta)" in line and "token" not in line  # the request's path, not its delta token
    admin(tenant, "DELETE", "inject")
    assert sync(entities).stats["messages"].rows >= 6  # the changes the refused run read are read again
    assert_tables_equal_truth(tenant, entities)


def materialize(*tables: str) -> dg.ExecuteInProcessResult:
    """Materialize raw tables the way a Dagster run does (the assets' own code path, not run_sync)."""
    return dg.materialize(
        [o365_raw_tables],
        selection=dg.AssetSelection.assets(*[dg.AssetKey(["o365_raw", table]) for table in tables]),
        resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure.step_failure_data and failure.step_failure_data.error
    return failure.step_failure_data.error.to_string()


def test_a_dagster_run_refusing_an_item_without_id_blocks_no_later_run(tenant: EmulatorServer) -> None:
    # before: dlt's normalizer failed on the row ("Column 'id' is declared non-nullable but contains nulls") and
    # left its package pending: every later run retried it first and failed the same way
    admin(tenant, "POST", "inject", [{"path": "/contactFolders/delta", "item_patch": {"first": 1, "remove": ["id"]}}])
    failed = materialize("contact_folders")
    assert not failed.success
    assert "contact_folders: Graph sent an item without its id (GET /users/" in failure_text(failed)
    admin(tenant, "DELETE", "inject")
    assert materialize("contact_folders").success
    assert_tables_equal_truth(tenant, ("contact_folders",))


def alter_messages(statement: str) -> None:
    """Change the raw messages table by hand, as someone with the DuckDB file open might."""
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"]) as con:
        con.execute(f"alter table o365_raw.messages {statement}")


def test_a_dagster_run_failed_in_the_load_step_is_discarded_and_the_next_run_reads_its_changes_again(
    tenant: EmulatorServer,
) -> None:
    assert materialize("messages").success
    alter_messages("drop column subject")  # the load step's merge now fails terminally (no such column)
    admin(tenant, "POST", "mutate", {"seed": 4, "ops": [{"entity": "messages", "op": "update", "count": 5}]})
    failed = materialize("messages")
    assert not failed.success and "the load step failed" in failure_text(failed)
    alter_messages("add column subject varchar")
    admin(tenant, "POST", "mutate", {"seed": 5, "ops": [{"entity": "messages", "op": "create", "count": 3}]})
    # before: this run loaded the failed run's pending package and read nothing new (the 3 created messages
    # stayed missing until yet another run)
    again = materialize("messages")
    assert again.success
    assert again.asset_materializations_for_node("o365_raw_tables")[0].metadata["rows"].value >= 5 + 3
    assert_tables_equal_truth(tenant, ("messages",))


def typed_values() -> list[tuple]:
    """The typed columns Graph's samples sometimes send as text, every row."""
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        messages = con.execute(
            "select user_id, id, is_read, has_attachments, is_draft from o365_raw.messages order by all"
        ).fetchall()
        events = con.execute(
            "select user_id, id, reminder_minutes_before_start, is_reminder_on from o365_raw.events order by all"
        ).fetchall()
    return messages + events


def test_booleans_and_numbers_sent_as_text_are_stored_as_their_type(tenant: EmulatorServer) -> None:
    # Microsoft's documentation samples carry such values ("isRead": "true"); dlt's normalizer coerces them
    as_text = [
        {"path": "/messages/delta", "item_patch": {"first": 5, "as_text": ["isRead", "hasAttachments", "isDraft"]}},
        {"path": "/calendarView/delta", "item_patch": {"first": 5, "as_text": ["reminderMinutesBeforeStart"]}},
    ]
    admin(tenant, "POST", "inject", as_text)
    entities = ("messages", "events")
    sync(entities)  # before: "schema change in o365_raw.messages.is_read: Graph sent text where ... bool"
    hits = admin(tenant, "GET", "inject").json()
    assert all(rule["hits"] > 0 for rule in hits.get("rules", hits))
    patched = typed_values()
    admin(tenant, "DELETE", "inject")
    sync(entities, full_refresh=True)  # the same tenant as Graph sends it natively
    assert typed_values() == patched
