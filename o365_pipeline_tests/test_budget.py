"""Graph's budget: a no-change sync asks once per stream (20 per ``$batch``) and loads nothing; a throttled sync
paced to the server's limits completes with nothing lost and no failed request."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig, SettingError
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES, TENANT
from o365_pipeline.graph.link_state import load_links
from o365_pipeline.sync import SyncReport, make_pipeline, run_sync
from o365_pipeline_tests.conftest import admin, assert_equals_truth, ids_digest, raw_ids, truth, use_emulator

OUTLOOK_DELTA = ("mail_folders_delta", "messages_delta", "contact_folders_delta", "contacts_delta", "events_delta")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=8, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        yield emulator


def sync() -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env())


def stored_links(own: bool = False) -> dict[str, int]:
    """Delta streams per resource (stored deltaLinks), from the dlt state of the last run; ``own``: without the
    folder lists a content table takes from its folder table's rounds (``user/folders``)."""
    resources = make_pipeline(PipelineConfig.from_env()).state["sources"]["o365"]["resources"]
    return {
        name: len([key for key in load_links(state) if not (own and key.endswith("/folders"))])
        for name, state in resources.items()
    }


def rows_of_last_load() -> int:
    """Rows any raw table got from the newest load."""
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        newest = con.execute("select max(load_id) from o365_raw._dlt_loads").fetchone()[0]
        return sum(
            con.execute(f"select count(*) from o365_raw.{table} where _dlt_load_id = ?", [newest]).fetchone()[0]
            for table in ENTITIES
        )


def test_a_no_change_sync_asks_once_per_stream_batched_and_loads_nothing(tenant: EmulatorServer) -> None:
    first = sync()
    assert first.stats["messages"].skipped > 0  # the tenant has mailboxes that cannot be read
    links, own = stored_links(), stored_links(own=True)
    assert links["messages"] > own["messages"] and links["contacts"] > own["contacts"]
    admin(tenant, "POST", "stats/reset")
    again = sync()
    by_route = admin(tenant, "GET", "stats").json()["by_route"]
    assert {name: s.rows + s.deleted for name, s in again.stats.items() if s.rows or s.deleted} == {}
    assert rows_of_last_load() == 0
    # every delta stream asked at most once (inside a $batch); no request for an unreadable mailbox
    delta_answers = sum(sum(by_route.get(route, {}).values()) for route in OUTLOOK_DELTA)
    assert delta_answers <= sum(links.values())
    mailbox_routes = (*OUTLOOK_DELTA, "calendars", "contacts", "drive_delta")
    assert not [route for route in mailbox_routes if {"403", "404"} & set(by_route.get(route, {}))]
    # each mailbox's folder delta asked once, by the folder table: its content table uses that round
    assert sum(by_route["mail_folders_delta"].values()) == links["mail_folders"]
    assert sum(by_route["contact_folders_delta"].values()) == links["contact_folders"]
    for name in ("messages", "contacts", "events", "drive_items", "mail_folders"):
        assert again.stats[name].requests == math.ceil(own[name] / 20), name
        assert again.stats[name].skipped == first.stats[name].skipped
    for name in ("message_attachments", "event_attachments"):  # ride on their parent's delta rounds: no request
        assert again.stats[name].requests == 0, name
        assert again.stats[name].skipped == first.stats[name].skipped
        assert links[name] == links[str(ENTITIES[name].parent)] > 0  # the parent's links, kept as their own
    # what fans out over parents (mailboxes, groups, ...) is batched: a small tenant's 15 mailboxes take ~38
    # requests against ~190 in the first sync; a tenant-wide table asks its pages again (a list or a report has no
    # delta), never more than when it was new (each costs the same at any tenant size: not part of the ratio)
    fanned = [name for name in again.stats if ENTITIES[name].over is not TENANT]
    assert sum(again.stats[n].requests for n in fanned) <= 0.25 * sum(first.stats[n].requests for n in fanned)
    assert {n: s.requests for n, s in again.stats.items() if s.requests > max(1, first.stats[n].requests)} == {}
    # changes still arrive: only the changed rows of a table read whole, and of the audit cursor
    ops = [
        {"entity": "messages", "op": "update", "count": 3},
        {"entity": "planner_tasks", "op": "update", "count": 2},
        {"entity": "planner_tasks", "op": "delete", "count": 2},
        {"entity": "directory_audits", "op": "create", "count": 2},
    ]
    admin(tenant, "POST", "mutate", {"seed": 4, "ops": ops})
    changed = sync()
    assert changed.stats["messages"].rows == 3
    assert (changed.stats["planner_tasks"].rows, changed.stats["planner_tasks"].deleted) == (2, 2)
    assert changed.stats["directory_audits"].rows == 2
    assert_equals_truth(tenant)


def test_unreadable_mailboxes_are_asked_again_after_the_recheck_interval(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O365_ENTITIES", "calendars,drive_items")
    first = sync()
    monkeypatch.setenv("O365_UNREADABLE_RECHECK_HOURS", "0")
    admin(tenant, "POST", "stats/reset")
    again = sync()
    by_route = admin(tenant, "GET", "stats").json()["by_route"]
    assert {"403", "404"} & set(by_route["calendars"]) and "404" in by_route["drive_delta"]
    assert again.stats["calendars"].skipped == first.stats["calendars"].skipped > 0
    monkeypatch.setenv("O365_UNREADABLE_RECHECK_HOURS", "soon")
    with pytest.raises(SettingError, match="^O365_UNREADABLE_RECHECK_HOURS: 'soon' is not a number of hours"):
        sync()


def test_a_throttled_sync_paced_to_the_limits_completes_without_failed_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=21, scale="small", throttle=True, state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        limits = admin(emulator, "POST", "throttle", {"global_requests": 200}).json()
        monkeypatch.setenv("O365_GRAPH_LIMIT", f"{limits['global_requests']}/{limits['window_s']}")
        monkeypatch.setenv("O365_MAILBOX_LIMIT", f"{limits['outlook_requests']}/{limits['window_s']}")
        report = sync()
        stats = admin(emulator, "GET", "stats").json()
        assert_equals_truth(emulator)
    assert not [route for route, codes in stats["by_route"].items() if any(code >= "500" for code in codes)]
    served = sum(n for codes in stats["by_route"].values() for code, n in codes.items() if code != "429")
    assert served / (limits["global_requests"] / limits["window_s"]) > 3  # the limit really bound the run
    assert sum(s.throttled for s in report.stats.values()) <= 0.02 * served  # paced, not bounced


def test_a_run_restricted_to_some_users_keeps_the_other_mailboxes_calendars(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O365_ENTITIES", "calendars")
    sync()
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        owners = [
            row[0] for row in con.execute("select distinct user_id from o365_raw.calendars order by 1").fetchall()
        ]
        before = con.execute("select count(*) from o365_raw.calendars").fetchall()[0][0]
    assert len(owners) > 1
    monkeypatch.setenv("O365_USERS", owners[0])
    restricted = sync()
    assert restricted.stats["calendars"].deleted == 0
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        assert con.execute("select count(*) from o365_raw.calendars").fetchall()[0][0] == before
    monkeypatch.delenv("O365_USERS")
    assert sync().stats["calendars"].rows == 0  # the carried-over rows are still known: nothing reloaded
    assert_equals_truth_for(tenant, "calendars")


def assert_equals_truth_for(emulator: EmulatorServer, table: str) -> None:
    """One raw table equals the emulator's truth (count and id digest)."""
    expected = truth(emulator)[table]
    bare, keyed = raw_ids(table)
    assert len(keyed) == expected["count"]
    assert expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed))


def test_a_content_table_run_alone_before_reads_its_own_folders_once_then_shares_them(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O365_ENTITIES", "messages,contacts")  # alone: their own folder rounds
    sync()
    monkeypatch.delenv("O365_ENTITIES")
    admin(tenant, "POST", "mutate", {"seed": 6, "ops": [{"entity": "messages", "op": "create", "count": 4}]})
    caught_up = sync()  # the folder tables' first rounds; messages/contacts stood elsewhere: each reads its own
    links = stored_links()
    assert caught_up.stats["messages"].rows == 4
    assert_equals_truth(tenant)
    admin(tenant, "POST", "stats/reset")
    sync()  # both at the folder tables' links now: one round per mailbox
    by_route = admin(tenant, "GET", "stats").json()["by_route"]
    assert sum(by_route["mail_folders_delta"].values()) == links["mail_folders"]
    assert sum(by_route["contact_folders_delta"].values()) == links["contact_folders"]
    assert_equals_truth(tenant)
