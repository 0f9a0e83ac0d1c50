"""Shared fixtures: a real emulator (HTTPS on loopback) and the O365_* settings that reach it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer


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


def truth(emulator: EmulatorServer) -> dict[str, dict]:
    """The emulator's current tenant state per raw table: count and ids digest."""
    response = httpx.get(f"{emulator.base_url}/_emulator/truth", verify=str(emulator.ca_path))
    response.raise_for_status()
    return response.json()["entities"]


def ids_digest(ids: list[str]) -> str:
    """SHA-256 of the sorted ids joined by newlines, as /_emulator/truth computes it."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
