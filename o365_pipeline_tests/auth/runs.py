"""Running the installed `o365-pipeline` command as a user would, with one scheme's settings only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import duckdb

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.conftest import admin

CLI = Path(sys.executable).parent / "o365-pipeline"
# settings of the surrounding shell that would leak another scheme into a run
_FOREIGN = ("O365_", "IDENTITY_", "MSI_", "IMDS_")
USER_CODE = re.compile(r"enter the code ([A-Z0-9]+)")


def child_env(settings: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """The process environment minus any O365_*/managed identity variable, plus `settings` and a destination
    (`O365_DUCKDB_PATH`, `DLT_DATA_DIR`) under `workdir`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_FOREIGN)}
    env.update(
        {
            "O365_DUCKDB_PATH": str(workdir / "o365.duckdb"),
            "O365_DATASET": "o365_raw",
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "XDG_CONFIG_HOME": str(workdir / "config"),
        }
    )
    env.update(settings)
    return env


def run_cli(args: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`o365-pipeline ARGS` in a child process; returns its exit status and output."""
    return subprocess.run([str(CLI), *args], env=dict(env), capture_output=True, text=True, timeout=timeout)


def approved_login(server: EmulatorServer, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`o365-pipeline login` with the user approving the printed code through the emulator's admin route."""
    admin(server, "POST", "identity", {"device_auto_approve": False})
    with subprocess.Popen(
        [str(CLI), "login"], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed before polling starts: the user reads it while login waits
        code = USER_CODE.search(first)
        if code is None:
            proc.kill()
        else:
            admin(server, "POST", "devicelogin", {"user_code": code.group(1), "action": "approve"})
        out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first + out, err)


def raw_count(duckdb_path: str | Path, table: str = "users") -> int | None:
    """Rows of `o365_raw.<table>` in the DuckDB file, None when the file or table does not exist."""
    if not Path(duckdb_path).exists():
        return None
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'o365_raw' and table_name = ?",
            [table],
        ).fetchall()[0][0]
        if not found:
            return None
        return int(con.execute(f"select count(*) from o365_raw.{table}").fetchall()[0][0])
