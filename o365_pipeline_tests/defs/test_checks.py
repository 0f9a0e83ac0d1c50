"""Raw-table checks on a real DuckDB file, and one workload group materialized with its checks and staging views."""

import os
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.definitions import defs
from o365_pipeline.defs.cadence import DAILY_LIMIT, HOURLY_LIMIT, freshness_limit
from o365_pipeline.defs.checks import duplicate_keys, key_columns
from o365_pipeline.defs.ingestion import o365_raw_tables
from o365_pipeline.defs.modeling import o365_dbt_models
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project

GRAPH = defs.resolve_asset_graph()


def test_duplicate_keys_counts_rows_sharing_a_key(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "dup.duckdb")) as con:
        assert duplicate_keys(con, "o365_raw", ENTITIES["messages"]) is None
        con.execute("create schema o365_raw")
        con.execute("create table o365_raw.messages (user_id varchar, id varchar)")
        con.execute("insert into o365_raw.messages values ('u1', 'm1'), ('u2', 'm1'), ('u1', 'm2')")
        assert duplicate_keys(con, "o365_raw", ENTITIES["messages"]) == (3, 0)  # ids repeat across mailboxes
        con.execute("insert into o365_raw.messages values ('u1', 'm2')")
        assert duplicate_keys(con, "o365_raw", ENTITIES["messages"]) == (4, 2)
    assert key_columns(ENTITIES["users"]) == ("id",)


def test_every_raw_table_has_key_and_schema_checks() -> None:
    for name in ENTITIES:
        checks = {key.name for key in GRAPH.asset_check_keys if key.asset_key == dg.AssetKey(["o365_raw", name])}
        assert "no_duplicate_keys" in checks and "graph_permission" in checks, name
        assert any("schema_change" in check for check in checks), (name, checks)


def test_every_asset_has_a_freshness_policy_on_its_workload_cadence() -> None:
    assert freshness_limit("mail").total_seconds() == 2 * 3600
    assert freshness_limit("directory").total_seconds() == 26 * 3600
    for node in GRAPH.asset_nodes:
        policy = node.freshness_policy
        assert isinstance(policy, TimeWindowFreshnessPolicy), node.key
        group = node.group_name or ""
        expected = freshness_limit(group) if node.key.path[0] == "o365_raw" else HOURLY_LIMIT
        assert policy.fail_window.to_timedelta() == expected, node.key
    daily = GRAPH.get(dg.AssetKey(["o365_raw", "users"])).freshness_policy
    assert daily is not None and daily.fail_window.to_timedelta() == DAILY_LIMIT
    # The superseded freshness checks and their sensor are gone.
    assert not any("freshness" in key.name for key in GRAPH.asset_check_keys)


def test_directory_group_materializes_with_checks_and_staging(
    emulator: EmulatorServer, o365_env: dict[str, str]
) -> None:
    directory = dg.AssetSelection.groups("directory")
    selection = directory | (directory.downstream(depth=1) & dg.AssetSelection.groups("staging"))
    checks = [check for check in defs.asset_checks or [] if isinstance(check, dg.AssetChecksDefinition)]
    result = dg.materialize(
        [o365_raw_tables, o365_dbt_models, *checks],
        selection=selection,
        resources={
            "dlt": DagsterDltResource(),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
            "o365": O365Auth.from_dagster_env(),
        },
    )
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {f"o365_raw/{name}" for name, e in ENTITIES.items() if e.workload == "directory"} <= materialized
    assert "staging/stg_graph__users__assigned_licenses" in materialized
    assert not any(key.startswith("marts/") or key == "o365_raw/messages" for key in materialized)
    evaluations = result.get_asset_check_evaluations()
    by_name = {(e.asset_key.to_user_string(), e.check_name): e for e in evaluations}
    duplicate = by_name[("o365_raw/users", "no_duplicate_keys")]
    assert duplicate.passed and duplicate.metadata["rows"].value > 0
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        licences = con.execute("select count(*) from staging.stg_graph__users__assigned_licenses").fetchall()[0][0]
    assert licences > 0


def test_an_entity_graph_refuses_fails_its_permission_check_and_the_rest_loads(
    emulator: EmulatorServer, o365_env: dict[str, str]
) -> None:
    message = {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
    emulator.emu.inject.set([{"path": r"^/v1\.0/teams", "status": 403, "body": {"error": message}}])
    checks = [check for check in defs.asset_checks or [] if isinstance(check, dg.AssetChecksDefinition)]
    names = ("teams", "organization")
    try:
        result = dg.materialize(
            [o365_raw_tables, *checks],
            selection=dg.AssetSelection.assets(*(dg.AssetKey(["o365_raw", name]) for name in names)),
            resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        )
    finally:
        emulator.emu.inject.set([])
    assert result.success  # the rest loaded
    by_name = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    refused = by_name[("teams", "graph_permission")]
    assert not refused.passed and refused.metadata["missing_permission"].value == "Team.ReadBasic.All"
    assert by_name[("organization", "graph_permission")].passed
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        assert con.execute("select count(*) from o365_raw.organization").fetchall()[0][0] == 1
