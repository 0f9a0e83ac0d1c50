"""Entra governance end to end: group owners, directory roles and who holds them, Conditional Access policies and
MFA registration, synced from the emulator, changed upstream, synced again; the privileged_users and mfa_coverage
marts built on them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.defs.modeling import dbt_vars
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.workload_kit import TENANT_EPOCH
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator

TABLES = (
    "group_owners",
    "directory_roles",
    "directory_role_members",
    "conditional_access_policies",
    "user_registration_details",
)
# what the two marts read besides them
ENTITIES = [*TABLES, "users", "groups", "sign_ins"]


def assert_tables_equal_truth(emulator: EmulatorServer, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Each table holds exactly the emulator's ids; returns the row counts."""
    expected = truth(emulator)
    counts = {}
    for table in tables:
        bare, _ = raw_ids(table)
        assert len(bare) == len(set(bare)) == expected[table]["count"], table
        assert ids_digest(bare) == expected[table]["ids_sha256"], table
        counts[table] = len(bare)
    return counts


def dbt(command: str, select: list[str], target: Path) -> None:
    """``dbt <command> --select ...`` of the project (``build``: with its unit and data tests) as of ``O365_AS_OF``."""
    done = subprocess.run(
        [DBT_EXECUTABLE, command, "--select", *select, "--indirect-selection", "cautious", "--profiles-dir", "."]
        + ["--target-path", str(target), *dbt_vars()],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture()
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A tenant of its own (the tests change it), the settings pointing at it, O365_AS_OF at its "now"."""
    with EmulatorServer(seed=5, scale="small", state_dir=tmp_path / "emulator") as server:
        use_emulator(server, tmp_path, monkeypatch)
        monkeypatch.setenv("O365_AS_OF", TENANT_EPOCH.isoformat())
        yield server


def sync() -> None:
    run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=ENTITIES)


def test_governance_tables_equal_truth_after_a_full_sync_and_after_upstream_changes(
    tenant: EmulatorServer, tmp_path: Path
) -> None:
    sync()
    counts = assert_tables_equal_truth(tenant)
    print(f"small tenant rows: {counts}")
    ops = [
        {"entity": "group_owners", "op": "create", "count": 2},
        {"entity": "group_owners", "op": "delete", "count": 2},
        {"entity": "directory_role_members", "op": "create", "count": 2},
        {"entity": "directory_role_members", "op": "delete", "count": 2},
        {"entity": "conditional_access_policies", "op": "create", "count": 1},
        {"entity": "conditional_access_policies", "op": "update", "count": 2},
        {"entity": "conditional_access_policies", "op": "delete", "count": 1},
        {"entity": "user_registration_details", "op": "update", "count": 3},
        {"entity": "groups", "op": "delete", "count": 1},  # its owners go with it
        {"entity": "users", "op": "delete", "count": 2},  # their ownerships, roles and registrations too
    ]
    changes = admin(tenant, "POST", "mutate", {"seed": 2, "ops": ops}).json()["changes"]
    assert all(change["count"] for change in changes), changes
    sync()
    assert_tables_equal_truth(tenant)
    dbt("build", ["+privileged_users", "+mfa_coverage"], tmp_path / "dbt")  # unit tests, data tests included
    ((enabled,),) = rows("select count(*) from staging.stg_graph__users where is_account_enabled")
    covered, registered = rows("select sum(users), sum(mfa_registered_users) from marts.mfa_coverage")[0]
    assert covered == enabled and 0 < registered < covered


def test_a_role_member_removed_upstream_leaves_privileged_users(tenant: EmulatorServer, tmp_path: Path) -> None:
    sync()
    dbt("run", ["+privileged_users"], tmp_path / "dbt")
    before = set(rows("select user_id, role_id from marts.privileged_users"))
    assert before and rows("select count(*) from marts.privileged_users where role_name is null") == [(0,)]
    (change,) = admin(
        tenant, "POST", "mutate", {"seed": 3, "ops": [{"entity": "directory_role_members", "op": "delete"}]}
    ).json()["changes"]
    (gone,) = rows(
        f"select principal_id, role_definition_id from o365_raw.directory_role_members where id = '{change['ids'][0]}'"
    )
    assert gone in before
    sync()
    dbt("run", ["privileged_users"], tmp_path / "dbt")  # the staging views read the raw tables as they are now
    after = set(rows("select user_id, role_id from marts.privileged_users"))
    assert after == before - {gone}
