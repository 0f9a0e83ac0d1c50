"""Applications, service principals and devices end to end: delta syncs equal the emulator's truth, a secret added
to an app reaches app_credential_expiry after an incremental sync, a deleted device leaves, and no secret, hint or
key byte is ever stored (Graph returns key bytes for a single object read with ``$select=keyCredentials``, which
is how a partial delta update is completed)."""

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.defs.modeling import dbt_vars
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.workload_kit import TENANT_EPOCH
from o365_pipeline.graph.entities import CREDENTIAL_KEYS
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, truth, use_emulator

ENTITIES = ["applications", "service_principals", "devices"]


def assert_tables_equal_truth(emulator: EmulatorServer) -> None:
    expected = truth(emulator)
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        for table in ENTITIES:
            ids = [row[0] for row in con.execute(f"select id from o365_raw.{table}").fetchall()]
            assert len(ids) == len(set(ids)) == expected[table]["count"], table
            assert ids_digest(ids) == expected[table]["ids_sha256"], table


def build_mart(target: Path) -> list[tuple]:
    """``dbt run`` of app_credential_expiry and what it feeds on; its rows (owner, kind, key id, days left, expired).

    The models only: their unit and data tests run in every full ``dbt build`` (the end-to-end and Postgres tests)."""
    done = subprocess.run(
        [DBT_EXECUTABLE, "run", "--select", "+app_credential_expiry", "stg_graph__devices", "--profiles-dir", "."]
        + ["--target-path", str(target), *dbt_vars()],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(
            "select owner_id, credential_kind, key_id, days_left, is_expired from marts.app_credential_expiry"
        ).fetchall()


def stored_credentials() -> list[dict]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        rows = con.execute(
            "select password_credentials, key_credentials from o365_raw.applications union all "
            "select password_credentials, key_credentials from o365_raw.service_principals"
        ).fetchall()
    return [entry for row in rows for column in row for entry in json.loads(column or "[]")]


def stored_key_ids() -> set[str]:
    return {entry["keyId"] for entry in stored_credentials()}


def test_added_secret_reaches_the_expiry_mart_and_a_deleted_device_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        monkeypatch.setenv("O365_AS_OF", TENANT_EPOCH.isoformat())
        run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=ENTITIES)
        assert_tables_equal_truth(emulator)
        seeded = stored_key_ids()

        ops = [{"entity": e, "op": op, "count": 1} for e in ENTITIES[::2] for op in ("create", "update", "delete")]
        changes = admin(emulator, "POST", "mutate", {"seed": 1, "ops": ops}).json()["changes"]
        updated_app, deleted_app = changes[1]["ids"][0], changes[2]["ids"][0]
        deleted_device = changes[5]["ids"][0]
        assert updated_app != deleted_app  # the seed picks two different apps
        run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=ENTITIES)
        assert_tables_equal_truth(emulator)
        rows = build_mart(tmp_path / "target")

        # the secret added to an app (delta: only its passwordCredentials changed) is in the mart, 10 days left
        added = [(owner, kind, days, expired) for owner, kind, key_id, days, expired in rows if key_id not in seeded]
        assert added == [(updated_app, "secret", 10, False)]
        # beside the seeded tenant's expired and soon-expiring secrets and certificates; nothing valid for longer
        assert {kind for _, kind, *_ in rows} == {"secret", "certificate"}
        assert any(expired for *_, expired in rows) and any(not expired for *_, expired in rows)
        assert all(days < 30 for *_, days, _ in rows)
        assert deleted_app not in {owner for owner, *_ in rows}
        with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
            devices = {row[0] for row in con.execute("select device_id from staging.stg_graph__devices").fetchall()}
        assert deleted_device not in devices and len(devices) == 20

    # the incremental run completed the partial update with a single-object read, which carries key bytes (the
    # updated app has a certificate)
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        (certificates,) = con.execute(
            "select key_credentials from o365_raw.applications where id = ?", [updated_app]
        ).fetchone()
    assert json.loads(certificates)
    credentials = stored_credentials()
    allowed = set(CREDENTIAL_KEYS["passwordCredentials"]) | set(CREDENTIAL_KEYS["keyCredentials"])
    assert credentials and all(set(entry) <= allowed for entry in credentials)
    assert not {"key", "hint", "secretText", "customKeyIdentifier"} & {k for entry in credentials for k in entry}
