"""The schema contract: a raw column's type, once set, is frozen. Graph changing a property's type fails the
sync with one line naming the table and column, loads nothing, and a full refresh of that table recovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.defs.ingestion import o365_raw_tables
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator


def stored_events() -> tuple[list[tuple], list[tuple]]:
    """The raw events table (every row, ordered) and its columns."""
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'o365_raw' and table_name = 'events' order by column_name"
        ).fetchall()
        rows = con.execute("select * exclude (_dlt_load_id, _dlt_id) from o365_raw.events order by user_id, id")
        return rows.fetchall(), columns


def test_a_changed_property_type_fails_with_one_line_and_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=5, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        auth, config = O365Auth.from_env(), PipelineConfig.from_env()
        run_sync(auth, config, entities=["events"])
        before, columns = stored_events()
        assert ("reminder_minutes_before_start", "BIGINT") in columns
        admin(emulator, "POST", "mutate", {"seed": 2, "ops": [{"entity": "events", "op": "update", "count": 3}]})
        admin(emulator, "POST", "mutate", {"seed": 3, "ops": [{"entity": "events", "op": "retype", "count": 1}]})

        cli = Path(sys.executable).parent / "o365-pipeline"
        done = subprocess.run(
            [str(cli), "sync", "--entities", "events"],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=300,
        )
        assert done.returncode == 1, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1] == (
            "error: schema change in o365_raw.events.reminder_minutes_before_start: Graph sent text where the column "
            "holds bigint; nothing was loaded. Rebuild the table with `o365-pipeline sync --full-refresh --entities "
            "events` (Dagster: materialize o365_raw/events with run config full_refresh: true); a column the entity "
            "declares (graph/entities.py) needs its declared type changed first"
        )
        assert stored_events() == (before, columns)  # nothing lost, nothing added, no variant column

        result = dg.materialize(
            [o365_raw_tables],
            selection=dg.AssetSelection.assets(dg.AssetKey(["o365_raw", "events"])),
            resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
            raise_on_error=False,
        )
        assert not result.success
        failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE)
        assert failure.step_failure_data and failure.step_failure_data.error
        assert (
            "schema change in o365_raw.events.reminder_minutes_before_start"
            in failure.step_failure_data.error.to_string()
        )
        assert stored_events() == (before, columns)

        again = run_sync(auth, config, entities=["events"], full_refresh=True).stats["events"]
        rows, columns = stored_events()
        assert again.rows == len(rows) and ("reminder_minutes_before_start", "VARCHAR") in columns
        assert not [name for name, _ in columns if "__v_" in name]
        expected = truth(emulator)["events"]
        bare, keyed = raw_ids("events")
        assert len(keyed) == expected["count"] and expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed))
        assert run_sync(auth, config, entities=["events"]).stats["events"].rows == 0  # incremental again
