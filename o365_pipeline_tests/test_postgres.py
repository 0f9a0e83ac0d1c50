"""The Postgres target for real: a throwaway PostgreSQL cluster, the sync loading it through dlt's postgres
destination (``O365_DESTINATION=postgres``), then ``dbt build --target postgres`` green."""

from __future__ import annotations

from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import (
    assert_postgres_equals_truth,
    dbt_build_postgres,
    query,
    truth,
    use_emulator,
)


def test_the_sync_loads_postgres_and_dbt_builds_there(
    emulator: EmulatorServer, postgres: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_emulator(emulator, tmp_path, monkeypatch)
    for name, value in {**postgres, "O365_DESTINATION": "postgres", "O365_DBT_TARGET": "postgres"}.items():
        monkeypatch.setenv(name, value)
    auth, config = O365Auth.from_env(), PipelineConfig.from_env()
    run_sync(auth, config)
    assert not (tmp_path / "o365.duckdb").exists()  # everything went to Postgres

    incremental = run_sync(auth, config).stats  # delta state restored from Postgres: no change, no rows
    assert sum(stats.rows for name, stats in incremental.items() if ENTITIES[name].strategy == "delta") == 0
    assert_postgres_equals_truth(postgres, emulator)

    dbt_build_postgres(tmp_path / "dbt")
    users = query(postgres, "select count(*), count(*) filter (where is_guest) from marts.users")[0]
    assert users[0] == truth(emulator)["users"]["count"] and users[1] > 0
    assert query(postgres, "select count(*) from marts.mailbox_activity_daily")[0][0] > 0
