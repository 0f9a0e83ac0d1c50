"""SharePoint tables (sites, lists, list items, site and group libraries) against the emulator: equal to its truth
after a full sync and after list items, library files and a group's site change upstream; with ``Sites.Selected``
the granted sites load and the others are skipped and counted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.auth.connection_check import Probe, run_connection_check
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.workloads import workloads_for
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.sync import SyncReport, run_sync
from o365_pipeline_tests.conftest import admin, truth, use_emulator
from o365_pipeline_tests.test_budget import assert_equals_truth_for

TABLES = ("sites", "site_lists", "list_items", "site_drives", "library_items")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=7, scale="small", state_dir=tmp_path / "emulator") as emulator:
        use_emulator(emulator, tmp_path, monkeypatch)
        monkeypatch.setenv("O365_ENTITIES", ",".join(TABLES))
        monkeypatch.delenv("O365_SITES", raising=False)
        yield emulator


def sync() -> SyncReport:
    return run_sync(O365Auth.from_env(), PipelineConfig.from_env())


def query(sql: str) -> list[tuple]:
    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql).fetchall()


def test_sharepoint_tables_equal_truth_through_item_file_and_group_changes(tenant: EmulatorServer) -> None:
    first = sync()
    for table in TABLES:
        assert first.stats[table].rows > 0 and first.stats[table].skipped == 0, table
        assert_equals_truth_for(tenant, table)
    # the list items carry their fields, the group drives their group
    assert query("select count(*) from o365_raw.list_items where json_extract_string(fields, '$.Title') is null") == [
        (0,)
    ]
    assert query("select count(*) from o365_raw.site_drives where group_id is not null")[0][0] > 0
    ops = [
        {"entity": table, "op": op, "count": 3}
        for table in ("list_items", "library_items")
        for op in ("create", "update", "delete")
    ]
    ops.append({"entity": "groups", "op": "delete", "count": 1})  # a Microsoft 365 group's site and library go
    before = truth(tenant)
    changes = admin(tenant, "POST", "mutate", {"seed": 2, "ops": ops}).json()["changes"]
    assert all(change["count"] > 0 for change in changes)
    assert all(
        truth(tenant)[table]["ids_sha256"] != before[table]["ids_sha256"] for table in ("list_items", "library_items")
    )
    second = sync()
    for table in TABLES:
        assert_equals_truth_for(tenant, table)
    # deltas bring the changes only (a changed file comes with its folders); what a deleted group held is dropped
    assert second.stats["list_items"].rows <= 9
    assert second.stats["library_items"].deleted >= 3
    third = sync()
    assert third.stats["list_items"].rows == third.stats["library_items"].rows == 0
    # a no-change round asks the lists of 20 sites, and the first pages of 20 streams, per $batch request
    assert third.stats["list_items"].requests <= 2 and third.stats["library_items"].requests <= 1
    for table in TABLES:
        assert_equals_truth_for(tenant, table)


def selected_app(tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An app holding Sites.Selected (no Sites.Read.All), set as the pipeline's credentials; its client id."""
    secret = "selected~secret"
    app = tenant.emu.identity.register_app("sites selected", secret=secret)
    app.roles = ["User.Read.All", "Group.Read.All", "Sites.Selected"]
    monkeypatch.setenv("O365_OAUTH_CLIENT_ID", app.client_id)
    monkeypatch.setenv("O365_OAUTH_CLIENT_SECRET", secret)
    return app.client_id


def test_sites_selected_loads_the_granted_sites_and_counts_the_others(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = selected_app(tenant, monkeypatch)
    store = workloads_for(tenant.emu).sites
    all_sites = store.sites()
    group_sites = [s for s in all_sites if s.group_id]
    granted = [all_sites[1], group_sites[0]]
    refused = all_sites[2]
    admin(tenant, "POST", "site_grants", {"app_id": client_id, "site_ids": [s.id for s in granted]})

    monkeypatch.setenv("O365_ENTITIES", "sites")  # without O365_SITES: refused, naming the permission
    denied = sync().stats["sites"].denied
    assert denied is not None and denied.permission == "Sites.Read.All" and denied.code == "accessDenied"

    monkeypatch.setenv("O365_ENTITIES", ",".join(TABLES))
    monkeypatch.setenv("O365_SITES", "; ".join(s.id for s in [*granted, refused]))
    report = sync()
    stats = report.stats
    assert all(stats[table].denied is None for table in TABLES)
    assert query("select id from o365_raw.sites order by id") == sorted((s.id,) for s in granted)
    assert stats["sites"].skipped == stats["site_lists"].skipped == stats["list_items"].skipped == 1
    # group drives: the granted group's loads, every other Microsoft 365 group's answers 403 and is counted
    assert stats["site_drives"].skipped == 1 + len(group_sites) - 1
    drives = {row[0] for row in query("select id from o365_raw.site_drives")}
    expected = {store.render_drive(s, next(lst for lst in store.lists(s) if lst.library))["id"] for s in granted}
    assert drives == expected
    library = {row[0] for row in query("select id from o365_raw.library_items")}
    assert library == {i for i in store.library_truth() if i.split("/")[0] in expected}
    lists = {row[0] for row in query("select distinct list_id from o365_raw.list_items")}
    assert lists == {lst.id for s in granted for lst in store.lists(s) if not lst.library}


def test_connection_check_probes_a_granted_site_with_sites_selected(
    tenant: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = [Probe(name, ENTITIES[name].probe, ENTITIES[name].permission) for name in TABLES]
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env(), probes, out=lines.append) == 0
    assert lines[1:-1] == [f"{name}: readable" for name in TABLES]  # Sites.Read.All: the first listed site
    client_id = selected_app(tenant, monkeypatch)
    lines = []
    run_connection_check(O365Auth.from_env(), probes, out=lines.append)
    missing = "missing permission Sites.Read.All (or Sites.Selected with the granted sites in O365_SITES)"
    assert lines[1:-1] == [f"{name}: {missing}" for name in TABLES]  # it cannot list sites
    site = workloads_for(tenant.emu).sites.sites()[1].id
    monkeypatch.setenv("O365_SITES", site)
    lines = []
    run_connection_check(O365Auth.from_env(), probes, out=lines.append)
    assert lines[1:-1] == [f"{name}: missing permission Sites.Read.All" for name in TABLES]  # not granted yet
    admin(tenant, "POST", "site_grants", {"app_id": client_id, "site_ids": [site]})
    lines = []
    run_connection_check(O365Auth.from_env(), probes, out=lines.append)
    assert lines[1:-1] == [f"{name}: readable" for name in TABLES]
