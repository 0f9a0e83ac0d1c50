"""Operator mistakes and a busy destination: one line naming what to do, a non-zero exit, loaded data untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.cli import main
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.conftest import admin, use_emulator

CLI = str(Path(sys.executable).parent / "o365-pipeline")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator, the settings pointing at it, and a DuckDB file holding the users table."""
    with EmulatorServer(seed=21, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        monkeypatch.setenv("O365_ENTITIES", "users")
        assert main(["sync", "--progress-seconds", "0"]) == 0
        yield emulator


def fingerprint(path: str) -> str:
    """The DuckDB file's bytes (what "loaded data untouched" means here)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_o365_users_naming_no_user_fails_with_one_line_listing_them(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fingerprint(os.environ["O365_DUCKDB_PATH"])
    monkeypatch.setenv("O365_ENTITIES", "users,messages")
    monkeypatch.setenv("O365_USERS", "nobody@nowhere.example, ghost")
    capsys.readouterr()
    assert main(["sync", "--progress-seconds", "0"]) == 2  # before: exit 0, nothing read, nothing said
    assert last_line(capsys) == (
        "error: O365_USERS: no user of the tenant has the id or user principal name nobody@nowhere.example, ghost; "
        "fix or remove them"
    )
    assert fingerprint(os.environ["O365_DUCKDB_PATH"]) == before


def test_a_second_sync_on_the_same_destination_is_refused_at_start(
    tenant: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    admin(tenant, "POST", "throttle", {"enabled": True, "global_requests": 40})  # the first sync takes seconds
    lock = Path(os.environ["O365_DUCKDB_PATH"] + ".sync-lock")
    first = subprocess.Popen(
        [CLI, "sync", "--entities", "users,groups,mail_folders", "--progress-seconds", "0"],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while f"pid {first.pid}," not in (lock.read_text() if lock.exists() else ""):
            assert first.poll() is None and time.monotonic() < deadline, "the first sync never took its lock"
            time.sleep(0.05)
        capsys.readouterr()
        assert main(["sync", "--progress-seconds", "0"]) == 1  # before: dlt's "check your credentials", or a hang
        line = last_line(capsys)
        assert line.startswith(f"error: another sync (pid {first.pid}, started "), line
        assert line.endswith(
            f"is writing {os.environ['O365_DUCKDB_PATH']}: run again once it has finished (only one "
            "sync writes a destination at a time)"
        )
        assert first.poll() is None  # the check came while the first was still writing
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]  # the first sync was not disturbed


def test_a_duckdb_file_held_open_by_another_program_is_named_with_its_process(
    tenant: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = os.environ["O365_DUCKDB_PATH"]
    before = fingerprint(path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({path!r}); print('open'); "
            "sys.stdout.flush(); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        capsys.readouterr()
        assert main(["sync", "--progress-seconds", "0"]) == 1
        line = last_line(capsys)
        assert line.startswith(f"error: the DuckDB file {path} is locked by "), line
        assert f"(PID {holder.pid})" in line and line.endswith(
            "close that program (or its DuckDB connection) and run again"
        )
    finally:
        holder.kill()
        holder.wait()
    assert fingerprint(path) == before


def test_a_read_only_duckdb_folder_is_named_in_one_line(tenant: EmulatorServer, tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    shutil.copy(os.environ["O365_DUCKDB_PATH"], folder / "o365.duckdb")
    before = fingerprint(str(folder / "o365.duckdb"))
    folder.chmod(0o555)
    env = {**os.environ, "O365_DUCKDB_PATH": str(folder / "o365.duckdb"), "DLT_DATA_DIR": str(tmp_path / "dlt2")}
    # root writes into read-only folders anyway: as root (CI containers) the sync runs without root's privileges,
    # as the files' owner (a user namespace maps this uid to an unprivileged one)
    as_owner = ["unshare", "--user", "--map-user=65534", "--"] if os.geteuid() == 0 else []
    try:
        done = subprocess.run(
            [*as_owner, CLI, "sync", "--progress-seconds", "0"], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr[-2000:]  # before: 3-4 tracebacks
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: O365_DUCKDB_PATH: the folder {folder} is read-only: DuckDB writes o365.duckdb and its .wal there; "
        "make it writable or point O365_DUCKDB_PATH at a writable folder"
    )
    assert fingerprint(str(folder / "o365.duckdb")) == before
