"""Mailbox shards: the stable hash, the settings, each shard's own state, mailboxes landing in and leaving their
shard, one mailbox re-synced alone by run config, and the pacing share read from the instance's run limits."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.cli import main
from o365_pipeline.config import PipelineConfig, SettingError
from o365_pipeline.definitions import build_defs
from o365_pipeline.defs.ingestion import DUCKDB_POOL, SyncConfig
from o365_pipeline.defs.partitions import MAILBOX_ENTITIES, TENANT_ENTITIES, runs_at_once, shard_count
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.pacing import Limit, PacingSettings
from o365_pipeline.shards import Shard, concurrent_runs, mailbox_shards, shard_keys, shard_of, share_of_budget
from o365_pipeline.sync import make_pipeline, pipeline_name, run_sync
from o365_pipeline_tests.conftest import admin, assert_equals_truth, use_emulator

ROOT = Path(__file__).resolve().parents[2]


def test_a_mailbox_always_hashes_to_the_same_shard_and_shards_are_even() -> None:
    # SHA-256 of the lower-cased id: the same on every machine and Python (hash() is salted per process)
    assert shard_of("0b3c9b1e-2a4f-4c8e-9d11-5a6b7c8d9e0f", 16) == shard_of("0B3C9B1E-2A4F-4C8E-9D11-5A6B7C8D9E0F", 16)
    assert shard_of("0b3c9b1e-2a4f-4c8e-9d11-5a6b7c8d9e0f", 16) == 3  # pinned: a change would move every mailbox
    sizes = Counter(shard_of(f"user-{n}", 16) for n in range(16_000))
    assert len(sizes) == 16 and all(900 < size < 1100 for size in sizes.values())  # within 10% of even
    keys = shard_keys(16)
    assert keys[3] == "shard_03of16" and keys == sorted(keys)
    assert [Shard.parse(key) for key in keys] == [Shard(index, 16) for index in range(16)]
    with pytest.raises(ValueError, match="shard_<index>of<count>"):
        Shard.parse("shard_16of16")


def test_settings_are_checked_and_named() -> None:
    assert mailbox_shards({}) == 0 and mailbox_shards({"O365_MAILBOX_SHARDS": "16"}) == 16
    for bad in ("-1", "x", "5000"):
        with pytest.raises(SettingError, match="O365_MAILBOX_SHARDS"):
            mailbox_shards({"O365_MAILBOX_SHARDS": bad})
    with pytest.raises(SettingError, match="O365_MAILBOX_SHARDS: .*O365_PARTITION_BY_MAILBOX"):
        shard_count({"O365_MAILBOX_SHARDS": "4", "O365_PARTITION_BY_MAILBOX": "1"})
    assert concurrent_runs({}) == 1 and concurrent_runs({}, fallback=4) == 4
    assert concurrent_runs({"O365_CONCURRENT_RUNS": "2"}, fallback=4) == 2  # the operator's word wins
    with pytest.raises(SettingError, match="O365_CONCURRENT_RUNS"):
        concurrent_runs({"O365_CONCURRENT_RUNS": "0"})


def test_each_run_paces_to_its_share_of_the_per_app_budget() -> None:
    settings = PacingSettings(overall=Limit(130_000, 10.0), mailbox=Limit(10_000, 600.0))
    quarter = share_of_budget(settings, 4)
    assert quarter.overall == Limit(32_500, 10.0) and quarter.mailbox == settings.mailbox
    assert share_of_budget(settings, 1) == settings


def test_the_run_share_comes_from_the_instance_run_limits() -> None:
    deploy = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    runs = deploy["concurrency"]["runs"]
    overrides = {"concurrency": deploy["concurrency"], "run_coordinator": deploy["run_coordinator"]}
    with dg.instance_for_test(overrides=overrides) as instance:
        tenant = [limit["limit"] for limit in runs["tag_concurrency_limits"] if limit["key"] == "o365/tenant"]
        assert runs_at_once(instance) == min(runs["max_concurrent_runs"], *tenant) == 4
    overrides["concurrency"] = {**deploy["concurrency"], "runs": {**runs, "max_concurrent_runs": 2}}
    with dg.instance_for_test(overrides=overrides) as instance:
        assert runs_at_once(instance) == 2
    with dg.instance_for_test() as instance:  # Dagster's own default queue: 10 runs at once
        assert runs_at_once(instance) == 10
    direct = {"run_coordinator": {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}}
    with dg.instance_for_test(overrides=direct) as instance:  # no run queue: nothing to share with
        assert runs_at_once(instance) is None


def test_every_shard_has_its_own_pipeline_and_staging_schema() -> None:
    config = PipelineConfig()
    names = {pipeline_name(config, shard=Shard(index, 4)) for index in range(4)}
    assert len(names) == 4 and pipeline_name(config) not in names
    assert pipeline_name(config, shard=Shard(1, 4)) != pipeline_name(config, shard=Shard(1, 8))  # a new layout
    stagings = {
        make_pipeline(config, shard=Shard(index, 4)).destination.config_params["staging_dataset_name_layout"]
        for index in range(4)
    }
    assert len(stagings) == 4 and all(layout.startswith("%s_staging__shard_") for layout in stagings)


def test_shard_definitions_queue_on_duckdb_and_write_at_once_on_postgres() -> None:
    for destination, pool in (("duckdb", DUCKDB_POOL), ("postgres", None)):
        defs = build_defs({"O365_MAILBOX_SHARDS": "4", "O365_DESTINATION": destination})
        graph = defs.resolve_asset_graph()
        messages = graph.get(dg.AssetKey(["o365_raw", "messages"]))
        assert messages.partitions_def.get_partition_keys() == shard_keys(4)
        assert graph.get(dg.AssetKey(["o365_raw", "users"])).partitions_def is None
        assert graph.get(dg.AssetKey(["o365_raw", "calendars"])).partitions_def is None  # replace: stays whole
        assets = defs.get_assets_def(dg.AssetKey(["o365_raw", "messages"]))
        assert {op.pool for op in assets.node_def.iterate_op_defs()} == {pool}
        job = defs.resolve_job_def("sync_mailboxes")
        assert job.partitions_def.get_partition_keys() == shard_keys(4) and "o365/tenant" in job.tags
        assert not [sensor for sensor in defs.sensors or [] if sensor.name == "mailbox_partitions"]


def rows_by_user(db: str) -> dict[str, Counter[str]]:
    """Rows per mailbox of every per-user table stored (a table without rows yet may not exist)."""
    with duckdb.connect(db, read_only=True) as con:
        stored = {
            r[0]
            for r in con.execute("select table_name from duckdb_tables() where schema_name = 'o365_raw'").fetchall()
        }
        return {
            table: Counter(r[0] for r in con.execute(f"select user_id from o365_raw.{table}").fetchall())
            for table in MAILBOX_ENTITIES
            if table in stored
        }


def test_shards_sync_the_tenant_and_mailboxes_land_in_and_leave_their_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        auth, config = O365Auth.from_env(), PipelineConfig.from_env()
        shards = [Shard(index, 2) for index in range(2)]

        def sync(*which: Shard) -> None:
            for shard in which:
                run_sync(auth, config, shard=shard)

        run_sync(auth, config, entities=TENANT_ENTITIES)
        sync(*shards)
        assert_equals_truth(emulator)
        before = rows_by_user(os.environ["O365_DUCKDB_PATH"])

        # Users deleted (some with mail) and one created: no partition changes, each shard finds its own.
        gone: list[str] = []
        for seed in range(40):
            answer = admin(emulator, "POST", "mutate", {"seed": seed, "ops": [{"entity": "users", "op": "delete"}]})
            gone += answer.json()["changes"][0]["ids"]
            if {shard_of(user, 2) for user in gone if before["messages"][user]} == {0, 1}:
                break
        assert {shard_of(user, 2) for user in gone if before["messages"][user]} == {0, 1}  # both shards lose one
        admin(emulator, "POST", "mutate", {"seed": 7, "ops": [{"entity": "users", "op": "create"}]})
        run_sync(auth, config, entities=TENANT_ENTITIES)
        sync(shards[0])
        after = rows_by_user(os.environ["O365_DUCKDB_PATH"])
        for user in gone:
            if before["messages"][user]:  # a shard drops only its own mailboxes gone
                assert after["messages"][user] == (0 if shards[0].owns(user) else before["messages"][user]), user
        sync(shards[1])
        assert_equals_truth(emulator)
        with pytest.raises(SettingError, match="O365_ENTITIES: users is not split into shards"):
            run_sync(auth, config, entities=("users",), shard=shards[0])
        with pytest.raises(SettingError, match="O365_MAILBOX_SHARDS"):
            run_sync(auth, config, full_refresh=True, shard=shards[0])


def test_one_mailbox_is_resynced_alone_by_run_config(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_emulator(emulator, tmp_path, monkeypatch)
    monkeypatch.setenv("O365_MAILBOX_SHARDS", "2")
    defs = build_defs({"O365_MAILBOX_SHARDS": "2"})
    assets = defs.get_assets_def(dg.AssetKey(["o365_raw", "messages"]))
    users = sorted(u["id"] for u in emulator.emu.directory.users.items.values() if u["_mailbox"] == "licensed")
    mine = next(user for user in users if shard_of(user, 2) == 0)
    other = next(user for user in users if shard_of(user, 2) == 1)

    def materialize(mailboxes: list[str]) -> dg.ExecuteInProcessResult:
        with dg.instance_for_test() as instance:
            return dg.materialize(
                [assets],
                partition_key="shard_0of2",
                instance=instance,
                resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
                run_config=dg.RunConfig({assets.node_def.name: SyncConfig(mailboxes=mailboxes)}),
                raise_on_error=False,
            )

    refused = materialize([other])
    assert not refused.success
    message = refused.get_step_failure_events()[0].step_failure_data.error.message
    assert f"{other} is in shard_1of2" in message
    assert materialize([mine]).success
    rows = rows_by_user(os.environ["O365_DUCKDB_PATH"])
    assert set(rows["messages"]) == {mine}  # that mailbox alone, with shard 0's state


def test_the_cli_syncs_one_shard_and_names_bad_input(o365_env: dict[str, str], capsys: pytest.CaptureFixture) -> None:
    assert main(["sync", "--shard", "shard_0of2", "--progress-seconds", "0"]) == 0
    printed = capsys.readouterr().out
    assert "messages" in printed and "users " not in printed  # the per-mailbox tables only
    stored = rows_by_user(os.environ["O365_DUCKDB_PATH"])
    assert stored["messages"] and all(shard_of(user, 2) == 0 for table in stored.values() for user in table)
    assert main(["sync", "--shard", "shard_9of2"]) == 2
    assert "error: --shard: 'shard_9of2' is not a shard partition key" in capsys.readouterr().err
    assert main(["sync", "--shard", "shard_0of2", "--entities", "users"]) == 2
    assert "error: O365_ENTITIES: users is not split into shards" in capsys.readouterr().err
