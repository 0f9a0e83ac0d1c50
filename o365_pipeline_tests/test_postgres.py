"""The Postgres target for real: a throwaway PostgreSQL cluster, the sync loading it through dlt's postgres
destination (``O365_DESTINATION=postgres``), then ``dbt build --target postgres`` green."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import ids_digest, truth, use_emulator


def pg_binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from PATH, /usr/local/bin or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/bin")
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found is None and not candidates:
        raise RuntimeError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found or candidates[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster on a free loopback port (as ``nobody`` when running as root); its O365_PG_* settings."""
    folder = Path(tempfile.mkdtemp(prefix="o365-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    data, log = folder / "data", folder / "log"
    subprocess.run(
        [*as_user, pg_binary("initdb"), "-D", str(data), "-U", "o365", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_user, pg_binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        settings = {
            "O365_PG_HOST": "127.0.0.1",
            "O365_PG_PORT": str(port),
            "O365_PG_USER": "o365",
            "O365_PG_PASSWORD": "unused-trust-auth",
            "O365_PG_DBNAME": "o365",
        }
        con = psycopg2.connect(host="127.0.0.1", port=port, user="o365", dbname="postgres")
        con.autocommit = True  # CREATE DATABASE runs outside a transaction
        con.cursor().execute("create database o365")
        con.close()
        yield settings
    finally:
        subprocess.run([*as_user, pg_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def query(settings: dict[str, str], sql: str) -> list[tuple]:
    with psycopg2.connect(
        host=settings["O365_PG_HOST"], port=int(settings["O365_PG_PORT"]), user="o365", dbname="o365"
    ) as con:
        cur = con.cursor()
        cur.execute(sql)
        return cur.fetchall()


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
    for table, expected in truth(emulator).items():
        where = f"table_schema = 'o365_raw' and table_name = '{table}'"
        columns = {
            row[0] for row in query(postgres, f"select column_name from information_schema.columns where {where}")
        }
        key = "user_id || '/' || id" if "user_id" in columns else "id"
        bare = [row[0] for row in query(postgres, f"select id from o365_raw.{table}")]
        keyed = [row[0] for row in query(postgres, f"select {key} from o365_raw.{table}")]
        assert len(keyed) == len(set(keyed)) == expected["count"], table
        assert expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table

    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            "build",
            "--profiles-dir",
            ".",
            "--target",
            "postgres",
            "--target-path",
            str(tmp_path / "dbt"),
        ],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "ERROR=0" in done.stdout and "SKIP=0" in done.stdout
    users = query(postgres, "select count(*), count(*) filter (where is_guest) from marts.users")[0]
    assert users[0] == truth(emulator)["users"]["count"] and users[1] > 0
    assert query(postgres, "select count(*) from marts.mailbox_activity_daily")[0][0] > 0
