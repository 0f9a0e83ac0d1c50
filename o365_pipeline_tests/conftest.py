"""Shared fixtures: a real emulator (HTTPS on loopback) and the O365_* settings that reach it."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import psycopg2
import pytest

from o365_pipeline.bench.postgres import throwaway_postgres
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """The emulator with the `small` tenant, shared by the session (tests that mutate start their own)."""
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path_factory.mktemp("emulator")) as server:
        yield server


@pytest.fixture
def o365_env(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every O365_* setting at the emulator and at a fresh DuckDB file and dlt folder."""
    return use_emulator(emulator, tmp_path, monkeypatch)


def use_emulator(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the emulator's settings plus a fresh destination in the environment; returns them."""
    env = {
        **emulator.env(),
        "O365_DUCKDB_PATH": str(tmp_path / "o365.duckdb"),
        "O365_DATASET": "o365_raw",
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("O365_ENTITIES", "O365_USERS"):
        monkeypatch.delenv(name, raising=False)
    return env


def truth(emulator: EmulatorServer, id_type: str = "immutable") -> dict[str, dict]:
    """The emulator's current tenant state per raw table: count and ids digest (Outlook items' ids in ``id_type``:
    immutable, what the pipeline stores by default, or regular)."""
    response = admin(emulator, "GET", f"truth?idType={id_type}")
    response.raise_for_status()
    return response.json()["entities"]


def ids_digest(ids: list[str]) -> str:
    """SHA-256 of the sorted ids joined by newlines, as /_emulator/truth computes it."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def admin(emulator: EmulatorServer, method: str, route: str, body: object = None) -> httpx.Response:
    """Call an emulator admin route (``/_emulator/<route>``)."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path))) as client:
        response = client.request(method, f"{emulator.base_url}/_emulator/{route}", json=body)
    response.raise_for_status()
    return response


def raw_ids(table: str) -> tuple[list[str], list[str]]:
    """Keys of a raw table as /_emulator/truth hashes them: bare ids, and ``user_id/id`` where there is a
    user_id column (per-user tables; the contract's checker accepts either digest, as here)."""
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        columns = {row[0] for row in con.execute(f"describe o365_raw.{table}").fetchall()}
        bare = [row[0] for row in con.execute(f"select id from o365_raw.{table}").fetchall()]
        if "user_id" not in columns:
            return bare, bare
        keyed = [row[0] for row in con.execute(f"select user_id || '/' || id from o365_raw.{table}").fetchall()]
        return bare, keyed


def assert_equals_truth(emulator: EmulatorServer, id_type: str = "immutable") -> None:
    for table, expected in truth(emulator, id_type).items():
        assert table in ENTITIES, f"the emulator serves {table} but no entity reads it"
        bare, keyed = raw_ids(table)
        assert len(keyed) == len(set(keyed)), f"{table}: duplicate keys"
        assert len(keyed) == expected["count"], table
        assert expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL cluster on a free loopback port, database ``o365``; its O365_PG_* settings."""
    with throwaway_postgres() as settings:
        yield settings


def assert_postgres_equals_truth(settings: dict[str, str], emulator: EmulatorServer) -> None:
    """Every raw table in the Postgres database of ``settings`` holds the emulator's ids, each once."""
    for table, expected in truth(emulator).items():
        where = f"table_schema = 'o365_raw' and table_name = '{table}'"
        columns = {
            row[0] for row in query(settings, f"select column_name from information_schema.columns where {where}")
        }
        key = "user_id || '/' || id" if "user_id" in columns else "id"
        bare = [row[0] for row in query(settings, f"select id from o365_raw.{table}")]
        keyed = [row[0] for row in query(settings, f"select {key} from o365_raw.{table}")]
        assert len(keyed) == len(set(keyed)) == expected["count"], table
        assert expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table


def dbt_build_postgres(target_path: Path) -> None:
    """``dbt build --target postgres`` of the project (settings from the environment): no error, nothing skipped."""
    done = subprocess.run(
        [DBT_EXECUTABLE, "build", "--profiles-dir", ".", "--target", "postgres", "--target-path", str(target_path)],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "ERROR=0" in done.stdout and "SKIP=0" in done.stdout


def query(settings: dict[str, str], sql: str) -> list[tuple]:
    """The rows of ``sql`` in the database of ``settings`` (its O365_PG_* settings)."""
    with psycopg2.connect(
        host=settings["O365_PG_HOST"],
        port=int(settings["O365_PG_PORT"]),
        user="o365",
        dbname=settings["O365_PG_DBNAME"],
    ) as con:
        cur = con.cursor()
        cur.execute(sql)
        return cur.fetchall()
