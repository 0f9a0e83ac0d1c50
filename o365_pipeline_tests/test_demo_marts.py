"""The demo's marts describe a living tenant on any date: recency is measured from the emulated tenant's own "now"
(``O365_AS_OF``, which the demo sets), and the seeded tenant has dormant accounts beside active ones."""

import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig, SettingError
from o365_pipeline.defs.modeling import dbt_vars
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.workload_kit import TENANT_EPOCH
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline.sync import run_sync

# What marts.users, stale_accounts and licence_utilization read.
ENTITIES = [
    *("users", "groups", "group_members", "organization", "subscribed_skus", "sign_ins"),
    *("mail_folders", "messages", "message_attachments"),
]
MARTS = ["+users", "+stale_accounts", "+licence_utilization"]


def test_dbt_vars_read_o365_as_of() -> None:
    assert dbt_vars({}) == []
    assert dbt_vars({"O365_AS_OF": "2026-11-01T02:00:00+02:00"}) == ["--vars", '{"as_of": "2026-11-01 00:00:00"}']
    with pytest.raises(SettingError, match="^O365_AS_OF: 'last tuesday' is not an ISO date"):
        dbt_vars({"O365_AS_OF": "last tuesday"})


def test_marts_show_active_and_stale_users_side_by_side(
    emulator: EmulatorServer, o365_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's setting: whatever today's date, the tenant's sign-ins are as recent as they were generated.
    monkeypatch.setenv("O365_AS_OF", TENANT_EPOCH.isoformat())
    run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=ENTITIES)
    command = [DBT_EXECUTABLE, "build", "--select", *MARTS, "--indirect-selection", "cautious", "--profiles-dir", "."]
    done = subprocess.run(
        [*command, "--target-path", str(tmp_path), *dbt_vars()],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]

    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:

        def one(sql: str) -> tuple:
            return con.execute(sql).fetchall()[0]

        recent = f"last_sign_in_at >= timestamp '{TENANT_EPOCH:%Y-%m-%d}' - interval 30 days"
        users, active, never = one(
            f"select count(*), count(*) filter (where {recent}), count(*) filter (where last_sign_in_at is null) "
            "from marts.users where is_account_enabled"
        )
        stale, never_active = one(
            "select count(*), count(*) filter (where reason = 'never active') from marts.stale_accounts"
        )
        assigned, active_licensed = one("select sum(assigned_users), sum(active_users) from marts.licence_utilization")
    print(
        f"enabled users {users}: {active} signed in within 30 days, {never} never; stale accounts {stale}; "
        f"licences assigned {assigned}, active {active_licensed}"
    )
    assert 0 < active < users and never > 0  # active and dormant users side by side
    assert 0 < stale < users and never_active > 0
    assert 0 < active_licensed < assigned
