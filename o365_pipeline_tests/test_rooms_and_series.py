"""Rooms, room lists and recurring series masters against the real emulator: every series is known, also one
whose occurrences lie outside the calendarView window, occurrences link to it, rooms follow upstream changes,
and room_utilization counts the seeded room bookings."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth, use_emulator

TABLES = ["users", "events", "event_series_masters", "rooms", "room_lists"]


def assert_tables_equal_truth(emulator: EmulatorServer, tables: list[str]) -> None:
    expected = truth(emulator)
    for table in tables:
        bare, keyed = raw_ids(table)
        assert len(keyed) == len(set(keyed)) == expected[table]["count"], table
        assert expected[table]["ids_sha256"] in (ids_digest(bare), ids_digest(keyed)), table


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql).fetchall()


UNLINKED = """
    select count(*) from o365_raw.events e
    where e.series_master_id is not null and not exists (
        select 1 from o365_raw.event_series_masters m where m.user_id = e.user_id and m.id = e.series_master_id)
"""


def test_series_outside_the_window_are_known_and_linked_and_follow_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=TABLES)
        assert_tables_equal_truth(emulator, TABLES)
        assert rows(UNLINKED) == [(0,)]  # every occurrence and exception finds its series master

        window_start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=365)).date().isoformat()
        started_before, ended_before = rows(f"""
            select
                count(distinct m.user_id || m.id) filter (where e.id is not null),
                count(distinct m.user_id || m.id) filter (where e.id is null)
            from o365_raw.event_series_masters m
            left join o365_raw.events e on e.user_id = m.user_id and e.series_master_id = m.id
            where json_extract_string(m.recurrence__range, '$.startDate') < '{window_start}'
        """)[0]
        # a series that began before the window links the occurrences inside it; one that ended before the
        # window has no occurrence in events at all, and is known all the same
        assert started_before > 0 and ended_before > 0
        assert rows("select count(*) from o365_raw.event_series_masters where type <> 'seriesMaster'") == [(0,)]

        ops = [{"entity": "event_series_masters", "op": op, "count": 2} for op in ("create", "update", "delete")] + [
            {"entity": "rooms", "op": op, "count": 1} for op in ("create", "delete", "update")
        ]
        ops.append({"entity": "room_lists", "op": "create", "count": 1})
        admin(emulator, "POST", "mutate", {"seed": 7, "ops": ops})
        run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=TABLES)
        assert_tables_equal_truth(emulator, TABLES)  # deleted series took their occurrences along
        assert rows(UNLINKED) == [(0,)]
        renamed = rows("select count(*) from o365_raw.event_series_masters where subject like 'Renamed: %'")
        assert renamed[0][0] >= 1


def test_room_utilization_counts_the_seeded_room_bookings(
    emulator: EmulatorServer, o365_env: dict[str, str], tmp_path: Path
) -> None:
    run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=TABLES)
    command = [DBT_EXECUTABLE, "build", "--select", "+room_utilization", "+stg_graph__event_series_masters"]
    done = subprocess.run(
        [*command, "--indirect-selection", "cautious", "--profiles-dir", ".", "--target-path", str(tmp_path / "dbt")],
        cwd=dbt_project.project_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    rooms, weeks, hours, over = rows(
        "select count(distinct room_id), count(*), sum(booked_hours), count(*) filter (where booked_hours > 40) "
        "from marts.room_utilization"
    )[0]
    # the raw bookings' hours: the mart counts a meeting once, overlaps once and declined bookings not at all
    raw_hours = rows("""
        select sum(date_diff('minute', start__date_time, end__date_time)) / 60.0 from o365_raw.events e
        where location__location_email_address in (select email_address from o365_raw.rooms)
            and not is_cancelled
    """)[0][0]
    print(f"room_utilization: {rooms} rooms, {weeks} room-weeks, {hours} booked hours (raw bookings {raw_hours} h)")
    assert rooms == rows("select count(*) from o365_raw.rooms")[0][0]  # every seeded room is booked
    assert 0 < hours <= raw_hours and weeks > rooms and over == 0
