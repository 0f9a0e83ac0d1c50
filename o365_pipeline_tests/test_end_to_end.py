"""The whole product against the real emulator: Graph -> dlt -> DuckDB -> dbt, in-process and headless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.defs.ingestion import o365_raw_tables
from o365_pipeline.defs.modeling import o365_dbt_models
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline_tests.conftest import admin, assert_equals_truth, truth, use_emulator


def materialize_all() -> dg.ExecuteInProcessResult:
    """Materialize every asset the way a run launched from the UI does (resources read EnvVars)."""
    return dg.materialize(
        [o365_raw_tables, o365_dbt_models],
        resources={
            "dlt": DagsterDltResource(),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
            "o365": O365Auth.from_dagster_env(),
        },
    )


def test_every_asset_materializes_equal_to_truth_and_a_rerun_adds_nothing(
    emulator: EmulatorServer, o365_env: dict[str, str]
) -> None:
    first = materialize_all()
    assert first.success
    checks = first.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    assert_equals_truth(emulator)
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        mart = con.execute("select count(*), count(*) filter (where is_guest) from marts.users").fetchall()[0]
    assert mart[0] == truth(emulator)["users"]["count"] and mart[1] > 0

    second = materialize_all()
    assert second.success
    assert_equals_truth(emulator)
    metadata = second.asset_materializations_for_node("o365_raw_tables")[0].metadata
    assert metadata["rows"].value == 0  # the no-change delta round brings nothing
    assert metadata["pages"].value >= 1  # ...in one empty page with the new deltaLink


def test_upstream_changes_arrive_through_delta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(seed=11, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        assert materialize_all().success
        ops = [{"entity": "users", "op": op, "count": 2} for op in ("create", "update", "delete")]
        admin(emulator, "POST", "mutate", {"seed": 1, "ops": ops})
        result = materialize_all()
        assert result.success
        metadata = result.asset_materializations_for_node("o365_raw_tables")[0].metadata
        assert 0 < metadata["rows"].value <= 6 + 2  # changes only (a created user may also show as updated)
        assert_equals_truth(emulator)


def test_headless_sync_prints_figures_and_equals_truth(emulator: EmulatorServer, o365_env: dict[str, str]) -> None:
    cli = Path(sys.executable).parent / "o365-pipeline"
    done = subprocess.run([str(cli), "sync"], capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "users" in done.stdout and "requests" in done.stdout
    assert_equals_truth(emulator)
    staging = f"{os.environ.get('O365_DATASET', 'o365_raw')}_staging"  # the merges' scratch copies, emptied
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables where table_schema = ?", [staging])
        names = [row[0] for row in tables.fetchall() if not row[0].startswith("_dlt")]
        full = [n for n in names if con.execute(f'select count(*) from {staging}."{n}"').fetchone() != (0,)]
        assert names and not full, full
    assert o365_env["O365_OAUTH_CLIENT_SECRET"] not in done.stdout + done.stderr
