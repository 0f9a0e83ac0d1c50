"""Mailbox partitions against the real emulator: partition runs, their own dlt state, the mailbox sensor and
the per-mailbox schedule ticks."""

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig, SettingError
from o365_pipeline.definitions import build_defs
from o365_pipeline.defs.ingestion import SyncConfig
from o365_pipeline.defs.partitions import GONE_TAG, MAILBOX_ENTITIES, MAILBOXES, partition_by_mailbox
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import pipeline_name, run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, truth, use_emulator

DEFS = build_defs({"O365_PARTITION_BY_MAILBOX": "1"})
MAILBOX_ASSETS = DEFS.get_assets_def(dg.AssetKey(["o365_raw", "messages"]))
DELTA_TABLES_NOT_MUTATED = ("mail_folders", "events", "contact_folders", "contacts", "drive_items")


def test_setting_is_off_by_default_and_named_when_wrong() -> None:
    assert partition_by_mailbox({}) is False
    assert partition_by_mailbox({"O365_PARTITION_BY_MAILBOX": "1"}) is True
    with pytest.raises(SettingError, match="O365_PARTITION_BY_MAILBOX"):
        partition_by_mailbox({"O365_PARTITION_BY_MAILBOX": "maybe"})


def test_each_mailbox_partition_has_its_own_dlt_pipeline() -> None:
    config = PipelineConfig()
    names = {pipeline_name(config, key) for key in ("a-1", "a_1", "b")}
    assert len(names) == 3 and pipeline_name(config) not in names
    assert pipeline_name(config) == "o365_o365_raw"  # the unpartitioned path keeps its state


def test_partitioned_definitions_keep_the_asset_keys() -> None:
    graph = DEFS.resolve_asset_graph()
    unpartitioned = build_defs({}).resolve_asset_graph()
    assert {node.key for node in graph.asset_nodes} == {node.key for node in unpartitioned.asset_nodes}
    for name in ("messages", "drive_items", "events", "event_attachments"):
        assert graph.get(dg.AssetKey(["o365_raw", name])).partitions_def == MAILBOXES
    for name in ("users", "organization", "calendars", "planner_tasks", "sign_ins"):
        assert graph.get(dg.AssetKey(["o365_raw", name])).partitions_def is None  # replace tables stay whole
    assert DEFS.resolve_job_def("sync_mailboxes").partitions_def == MAILBOXES


def eligible_ids(emulator: EmulatorServer) -> list[str]:
    """The tenant's members with a mail address, from the emulator's directory."""
    users = emulator.emu.directory.users.items.values()
    return sorted(u["id"] for u in users if u.get("mail") and u["userType"] != "Guest")


def licensed(emulator: EmulatorServer) -> list[str]:
    return sorted(u["id"] for u in emulator.emu.directory.users.items.values() if u["_mailbox"] == "licensed")


def rows_of(db: str, users: list[str]) -> dict[str, set[tuple[str, ...]]]:
    """Every per-user table's rows of the given users, as text tuples over the columns all copies share."""
    out: dict[str, set[tuple[str, ...]]] = {}
    placeholders = ", ".join("?" * len(users))
    with duckdb.connect(db, read_only=True) as con:
        for table in MAILBOX_ENTITIES:
            columns = sorted(
                row[0]
                for row in con.execute(f"describe o365_raw.{table}").fetchall()
                if not row[0].startswith("_dlt") and row[0] != "sync_seq"
            )
            select = ", ".join(f"cast({c} as varchar)" for c in columns)
            query = f"select {select} from o365_raw.{table} where user_id in ({placeholders})"
            out[table] = {tuple(row) for row in con.execute(query, users).fetchall()}
    return out


def assert_per_user_tables_equal_truth(emulator: EmulatorServer, db: str) -> None:
    """The per-user tables of a DuckDB file hold exactly the emulator's ids (``user_id/id``)."""
    expected = truth(emulator)
    with duckdb.connect(db, read_only=True) as con:
        for table in MAILBOX_ENTITIES:
            keys = [row[0] for row in con.execute(f"select user_id || '/' || id from o365_raw.{table}").fetchall()]
            assert (len(keys), ids_digest(keys)) == (expected[table]["count"], expected[table]["ids_sha256"]), table


def common(a: dict[str, set[tuple[str, ...]]], b: dict[str, set[tuple[str, ...]]]) -> None:
    for table in MAILBOX_ENTITIES:
        assert a[table] == b[table], table


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def materialize_mailbox(
    instance: dg.DagsterInstance, key: str, full_refresh: bool = False, tags: dict[str, str] | None = None
) -> dict[str, int]:
    """One partition run of every per-user table; returns rows per table from the materialization metadata."""
    result = dg.materialize(
        [MAILBOX_ASSETS],
        partition_key=key,
        instance=instance,
        resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        run_config=dg.RunConfig({MAILBOX_ASSETS.node_def.name: SyncConfig(full_refresh=full_refresh)}),
        raise_on_error=False,
        tags=tags,
    )
    if not result.success:
        failure = result.get_step_failure_events()[0].step_failure_data.error
        raise RuntimeError(str(failure))
    return {
        m.asset_key.path[-1]: int(m.metadata["rows"].value)
        for m in result.asset_materializations_for_node(MAILBOX_ASSETS.node_def.name)
    }


def sensor_tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    """One evaluation of the mailbox sensor (the context closes the instance it opens from the ref)."""
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(),
        cursor=cursor,
        resources={"o365": O365Auth.from_dagster_env()},
        definitions=DEFS,
    ) as context:
        return DEFS.get_sensor_def("mailbox_partitions").evaluate_tick(context)


def partition_requests(result: dg.SensorResult) -> tuple[list[str], list[str]]:
    added = [
        k
        for r in result.dynamic_partitions_requests
        if isinstance(r, dg.AddDynamicPartitionsRequest)
        for k in r.partition_keys
    ]
    deleted = [
        k
        for r in result.dynamic_partitions_requests
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
        for k in r.partition_keys
    ]
    return added, deleted


def test_partition_runs_shard_by_mailbox_and_keep_their_own_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        db = os.environ["O365_DUCKDB_PATH"]
        reference = PipelineConfig.from_env()
        reference = replace(reference, duckdb_path=tmp_path / "reference.duckdb")

        def reference_rows(users: list[str]) -> dict[str, set[tuple[str, ...]]]:
            """An unpartitioned sync of the whole tenant, equal to the emulator's truth, restricted to users."""
            run_sync(O365Auth.from_env(), reference, entities=MAILBOX_ENTITIES)
            assert_per_user_tables_equal_truth(emulator, str(reference.duckdb_path))
            return rows_of(str(reference.duckdb_path), users)

        # The sensor's first tick adds every mail-enabled member as a partition and asks for a run of each.
        first = sensor_tick(instance, None)
        added, deleted = partition_requests(first)
        assert added == eligible_ids(emulator) and deleted == []
        assert sorted(r.partition_key for r in first.run_requests) == added
        assert DEFS.get_sensor_def("mailbox_partitions").job_name == "sync_mailboxes"
        instance.add_dynamic_partitions(MAILBOXES.name, added)

        a, b = licensed(emulator)[:2]
        first_b = materialize_mailbox(instance, b)
        materialize_mailbox(instance, a)
        common(rows_of(db, [a, b]), reference_rows([a, b]))
        with duckdb.connect(db, read_only=True) as con:  # nothing of any other mailbox
            assert con.execute("select count(distinct user_id) from o365_raw.messages").fetchall()[0][0] == 2

        # Messages change in both mailboxes; re-running A applies A's changes and leaves B's rows as they were.
        changed: set[str] = set()
        for seed in range(40):
            answer = admin(emulator, "POST", "mutate", {"seed": seed, "ops": [{"entity": "messages", "op": "update"}]})
            changed |= {i.split("/")[0] for c in answer.json()["changes"] for i in c["ids"]} & {a, b}
            if changed == {a, b}:
                break
        assert changed == {a, b}
        b_before = rows_of(db, [b])
        materialize_mailbox(instance, a)
        truth_a, truth_b = reference_rows([a]), reference_rows([b])
        common(rows_of(db, [a]), truth_a)
        common(rows_of(db, [b]), b_before)
        assert b_before["messages"] != truth_b["messages"]  # B's update is not applied before B's own run

        # B's deltaLinks survived A's runs: B's next run reads its changes only, no table is read again.
        admin(emulator, "POST", "stats/reset")
        second_b = materialize_mailbox(instance, b)
        requests = admin(emulator, "GET", "stats").json()["requests"]
        for table in DELTA_TABLES_NOT_MUTATED:
            assert first_b[table] > 0 and second_b[table] == 0, table
        assert 0 < second_b["messages"] < first_b["messages"]
        assert requests < sum(first_b.values())
        common(rows_of(db, [b]), truth_b)

        # The sensor: a created user becomes a partition with a first run. A deleted mailbox gets a last run,
        # which deletes its rows and state only, and once that succeeded a later tick deletes its partition.
        created = admin(emulator, "POST", "mutate", {"seed": 1, "ops": [{"entity": "users", "op": "create"}]})
        created_ids = created.json()["changes"][0]["ids"]
        gone: list[str] = []
        for seed in range(60):  # delete users until one of the two synced mailboxes is among them
            answer = admin(emulator, "POST", "mutate", {"seed": seed, "ops": [{"entity": "users", "op": "delete"}]})
            gone += answer.json()["changes"][0]["ids"]
            if {a, b} & set(gone):
                break
        gone_partitions = sorted(set(gone) & set(added))
        (synced_gone,) = {a, b} & set(gone)
        (kept,) = {a, b} - {synced_gone}
        second = sensor_tick(instance, first.cursor)
        assert partition_requests(second) == (created_ids, [])
        requested = {(r.partition_key, r.tags.get(GONE_TAG)) for r in second.run_requests}
        assert requested == {(key, None) for key in created_ids} | {(key, key) for key in gone_partitions}
        assert partition_requests(sensor_tick(instance, second.cursor)) == ([], [])  # last runs not done yet

        kept_before = rows_of(db, [kept])
        materialize_mailbox(instance, synced_gone, tags={GONE_TAG: synced_gone})  # the others' last runs wait
        assert all(not rows for rows in rows_of(db, [synced_gone]).values())
        common(rows_of(db, [kept]), kept_before)
        with duckdb.connect(db, read_only=True) as con:
            names = {row[0] for row in con.execute("select pipeline_name from o365_raw._dlt_pipeline_state").fetchall()}
        assert pipeline_name(reference, synced_gone) not in names and pipeline_name(reference, kept) in names

        third = sensor_tick(instance, second.cursor)  # only a partition whose last run succeeded is deleted
        assert partition_requests(third) == ([], [synced_gone]) and not third.run_requests
        instance.delete_dynamic_partition(MAILBOXES.name, synced_gone)
        fourth = sensor_tick(instance, third.cursor)  # nothing changed since: no request, one delta page
        assert partition_requests(fourth) == ([], []) and not fourth.run_requests


def test_full_refresh_is_refused_in_a_partition_run(
    emulator: EmulatorServer, o365_env: dict[str, str], instance: dg.DagsterInstance
) -> None:
    instance.add_dynamic_partitions(MAILBOXES.name, ["someone"])
    with pytest.raises(RuntimeError, match="O365_PARTITION_BY_MAILBOX=0"):
        materialize_mailbox(instance, "someone", full_refresh=True)


def test_per_user_schedules_request_one_run_per_mailbox_partition(instance: dg.DagsterInstance) -> None:
    schedule = DEFS.get_schedule_def("sync_mail_schedule")
    when = dt.datetime(2026, 11, 27, 5, 5, tzinfo=dt.UTC)
    empty = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert not empty.run_requests and "mailbox_partitions" in (empty.skip_message or "")
    instance.add_dynamic_partitions(MAILBOXES.name, ["u1", "u2"])
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=DEFS.get_repository_def()
    )
    requests = schedule.evaluate_tick(context).run_requests or []
    assert sorted(r.partition_key for r in requests) == ["u1", "u2"]
    directory = DEFS.get_schedule_def("sync_directory_schedule").evaluate_tick(context).run_requests or []
    assert len(directory) == 1 and directory[0].partition_key is None  # tenant-wide tables: one run
