"""``make demo``: the whole flow against the bundled emulator, headless, as a user would run it.

Starts ``o365-pipeline emulator serve`` as its own process, materializes every asset with
``dagster asset materialize`` (dlt raw tables, then dbt models, recency measured from the emulated tenant's "now")
into ``data/demo.duckdb`` and prints a row count per table and the active and stale users the marts show.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from .emulator.process import EmulatorProcess
from .emulator.workload_kit import TENANT_EPOCH

ROOT = Path(__file__).resolve().parent.parent


def table_counts(duckdb_path: Path) -> list[tuple[str, str, int]]:
    """(schema, table, rows) of every table and view, leaving out bookkeeping (tables named `_...`: dlt's, the
    Outlook id type's) and merge staging tables."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name not like '\\_%' escape '\\' and table_schema not like '%\\_staging' escape '\\' "
            "order by 1, 2"
        ).fetchall()
        return [
            (schema, table, con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0])
            for schema, table in names
        ]


def user_activity(duckdb_path: Path) -> str:
    """One line of what the marts say about the users: enabled, active (a sign-in in the last 30 days before the
    tenant's "now"), stale accounts, licences assigned and in use."""
    since = f"timestamp '{TENANT_EPOCH:%Y-%m-%d %H:%M:%S}' - interval 30 days"
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        enabled, active = con.execute(
            f"select count(*), count(*) filter (where last_sign_in_at >= {since}) from marts.users "
            "where is_account_enabled"
        ).fetchall()[0]
        stale = con.execute("select count(*) from marts.stale_accounts").fetchall()[0][0]
        assigned, used = con.execute(
            "select sum(assigned_users), sum(active_users) from marts.licence_utilization"
        ).fetchall()[0]
    return (
        f"as of {TENANT_EPOCH:%Y-%m-%d} (the tenant's now): {enabled} enabled users, {active} signed in within "
        f"30 days, {stale} stale accounts; licences {assigned} assigned, {used} in use"
    )


def run_demo(duckdb_path: Path = ROOT / "data" / "demo.duckdb") -> int:
    """Emulator up, every asset materialized, a row summary printed; returns the exit status."""
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    duckdb_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="o365-demo-") as tmp:
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        with EmulatorProcess("small", Path(tmp) / "emulator") as emulator:
            env = {
                **os.environ,
                **emulator.env,
                "DAGSTER_HOME": str(home),
                "DLT_DATA_DIR": str(Path(tmp) / "dlt"),
                "O365_DUCKDB_PATH": str(duckdb_path),
                # The marts measure recency from the emulated tenant's own "now", not today's date: its
                # sign-ins and audit history are generated up to that moment, so the demo looks alive any day.
                "O365_AS_OF": TENANT_EPOCH.isoformat(),
            }
            started = time.perf_counter()
            command = [
                str(Path(sys.executable).parent / "dagster"),
                *("asset", "materialize", "-m", "o365_pipeline.definitions", "--select", "*"),
            ]
            result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
            if result.returncode != 0:
                sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
                print(f"demo failed: dagster asset materialize exited {result.returncode}", file=sys.stderr)
                return 1
            seconds = time.perf_counter() - started
    print(f"materialized every asset into {duckdb_path} in {seconds:.1f} s")
    print(f"{'schema':<12}{'table':<48}{'rows':>10}")
    for schema, table, rows in table_counts(duckdb_path):
        print(f"{schema:<12}{table:<48}{rows:>10}")
    print(user_activity(duckdb_path))
    return 0
