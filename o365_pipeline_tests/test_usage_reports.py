"""Usage reports end to end: Graph's redirect to a CSV download (followed without the token), one snapshot per
report refresh date (the same date again adds nothing, a new date adds a snapshot), concealed names flagged in
staging, and the report period setting."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.auth.connection_check import Probe, run_connection_check
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.router import Request, Response
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.project import DBT_EXECUTABLE, dbt_project
from o365_pipeline_tests.auth.runs import CLI, child_env
from o365_pipeline_tests.conftest import admin, ids_digest, truth

REPORTS = [name for name, entity in ENTITIES.items() if entity.strategy == "snapshot"]
DEADLINE = 120.0


def sync(tenant: EmulatorServer, workdir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`o365-pipeline sync` of the users and the usage reports into ``workdir``."""
    env = child_env(
        {**tenant.env(), "O365_PROGRESS_SECONDS": "0", "O365_ENTITIES": ",".join(["users", *REPORTS]), **settings},
        workdir,
    )
    return subprocess.run([str(CLI), "sync"], env=env, capture_output=True, text=True, timeout=DEADLINE)


def stored(workdir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(workdir / "o365.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def assert_reports_equal_truth(tenant: EmulatorServer, workdir: Path) -> None:
    expected = truth(tenant)
    for table in REPORTS:
        ids = [row[0] for row in stored(workdir, f"select id from o365_raw.{table}")]
        assert len(ids) == len(set(ids)) == expected[table]["count"], table
        assert ids_digest(ids) == expected[table]["ids_sha256"], table


def snapshots(workdir: Path, table: str) -> list[tuple]:
    """(refresh date, rows, load id) of each snapshot stored in ``table``."""
    sql = f"select report_refresh_date, count(*), max(_dlt_load_id) from o365_raw.{table} group by 1 order by 1"
    return stored(workdir, sql)


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as server:
        yield server


@pytest.fixture
def downloads(tenant: EmulatorServer) -> Iterator[list[tuple[str, bool]]]:
    """(route, whether it carried an Authorization header) of every report request and download."""
    seen: list[tuple[str, bool]] = []

    def record(req: Request, resp: Response) -> None:
        if req.route is not None and req.route.name in ("reports", "report_download"):
            seen.append((req.route.name, bool(req.header("authorization"))))

    tenant.emu.recorder = record
    yield seen
    tenant.emu.recorder = None


def test_reports_keep_one_snapshot_per_refresh_date_and_the_download_never_gets_the_token(
    tenant: EmulatorServer, downloads: list[tuple[str, bool]], tmp_path: Path
) -> None:
    started = time.monotonic()
    first = sync(tenant, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert_reports_equal_truth(tenant, tmp_path)
    before = {table: snapshots(tmp_path, table) for table in REPORTS}
    assert all(len(rows) == 1 and rows[0][1] > 0 for rows in before.values()), before

    again = sync(tenant, tmp_path)  # the same refresh date: nothing loaded, nothing replaced
    assert again.returncode == 0, again.stderr[-2000:]
    assert {table: snapshots(tmp_path, table) for table in REPORTS} == before
    assert_reports_equal_truth(tenant, tmp_path)

    admin(tenant, "POST", "mutate", {"ops": [{"entity": table, "op": "advance"} for table in REPORTS]})
    admin(tenant, "POST", "mutate", {"seed": 2, "ops": [{"entity": "users", "op": "create"}]})
    later = sync(tenant, tmp_path)
    assert later.returncode == 0, later.stderr[-2000:]
    assert_reports_equal_truth(tenant, tmp_path)
    for table in REPORTS:
        after = snapshots(tmp_path, table)
        assert len(after) == 2 and after[0] == before[table][0], table  # history kept, a day added
        assert (after[1][0] - after[0][0]).days == 1, table
    users = stored(tmp_path, "select count(*) from o365_raw.users")[0][0]
    newest = snapshots(tmp_path, "usage_office365_active_user_detail")[-1][1]
    assert newest == users  # the new day's snapshot has the user created before it
    print(f"\nusage reports: 3 syncs in {time.monotonic() - started:.1f} s")

    asked = [auth for route, auth in downloads if route == "reports"]
    fetched = [auth for route, auth in downloads if route == "report_download"]
    assert len(asked) == len(fetched) == 3 * len(REPORTS)
    assert all(asked) and not any(fetched)  # the token goes to Graph, never to the download host


def test_a_concealed_tenant_loads_and_staging_never_joins_its_hashed_names_to_users(
    tenant: EmulatorServer, tmp_path: Path
) -> None:
    plain = sync(tenant, tmp_path)
    assert plain.returncode == 0, plain.stderr[-2000:]
    admin(tenant, "POST", "reports", {"concealed": True})
    admin(tenant, "POST", "mutate", {"ops": [{"entity": table, "op": "advance"} for table in REPORTS]})
    concealed = sync(tenant, tmp_path)
    assert concealed.returncode == 0, concealed.stderr[-2000:]
    assert_reports_equal_truth(tenant, tmp_path)

    env = child_env({"O365_DATASET": "o365_raw"}, tmp_path)
    command = [DBT_EXECUTABLE, "build", "--select", "+m365_adoption_daily", "--indirect-selection", "cautious"]
    command += ["--profiles-dir", "."]
    command += ["--target-path", str(tmp_path / "target")]
    done = subprocess.run(command, cwd=dbt_project.project_dir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    for model, name in (
        ("stg_graph__usage_office365_active_user_detail", "user_principal_name"),
        ("stg_graph__usage_onedrive_usage_account_detail", "owner_principal_name"),
    ):
        rows = stored(
            tmp_path,
            f"select report_refresh_date, is_concealed, count(*), count(joinable_upn), "
            f"count(*) filter (where {name} like '%@%') from staging.{model} group by 1, 2 order by 1",
        )
        (day1, plain_flag, n1, joined1, named1), (day2, concealed_flag, n2, joined2, named2) = rows
        assert (plain_flag, joined1, named1) == (False, n1, n1), model  # plain names: every row is a user
        assert (concealed_flag, joined2, named2) == (True, 0, 0), model  # hashes: flagged, never joined
    sites = stored(
        tmp_path,
        "select report_refresh_date, bool_and(is_concealed) from staging.stg_graph__usage_sharepoint_site_usage_detail "
        "group by 1 order by 1",
    )
    assert [flag for _, flag in sites] == [False, True]
    mart = stored(
        tmp_path,
        "select report_refresh_date, count(*), sum(licensed_users) from marts.m365_adoption_daily "
        "group by 1 order by 1",
    )
    assert [row[1] for row in mart] == [6, 6] and mart[0][2] == mart[1][2] > 0  # concealed rows count the same


def test_the_report_period_setting(tenant: EmulatorServer, tmp_path: Path) -> None:
    bad = sync(tenant, tmp_path / "bad", O365_REPORT_PERIOD="D9")
    assert bad.returncode != 0
    assert (
        bad.stderr.strip().splitlines()[-1] == "error: O365_REPORT_PERIOD: 'D9' is not a report period: use D7 or D30"
    )
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "bad" / "o365.duckdb").exists() or not stored(
        tmp_path / "bad", "select * from information_schema.tables where table_name like 'usage_%'"
    )

    month = sync(tenant, tmp_path / "month", O365_REPORT_PERIOD="d30")
    assert month.returncode == 0, month.stderr[-2000:]
    periods = stored(tmp_path / "month", "select distinct report_period from o365_raw.usage_mailbox_usage_detail")
    assert periods == [(30,)]


def test_test_connection_and_sync_name_reports_read_all_when_graph_refuses_a_report(
    tenant: EmulatorServer, tmp_path: Path
) -> None:
    probes = [Probe(name, ENTITIES[name].probe, ENTITIES[name].permission) for name in REPORTS]
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env(tenant.env()), probes, out=lines.append) == 0
    assert lines[1:] == [
        *(f"{name}: readable" for name in REPORTS),
        "ok: token obtained and Graph answered; 5 of 5 entities readable",
    ]

    forbidden = {"error": {"code": "Forbidden", "message": "Missing role permissions on the request."}}
    tenant.emu.inject.set([{"path": r"^/v1\.0/reports/getMailboxUsageDetail", "status": 403, "body": forbidden}])
    try:
        lines.clear()
        run_connection_check(O365Auth.from_env(tenant.env()), probes, out=lines.append)
        assert "usage_mailbox_usage_detail: missing permission Reports.Read.All" in lines
        refused = sync(tenant, tmp_path)
    finally:
        tenant.emu.inject.set([])
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert "usage_mailbox_usage_detail needs the Graph permission Reports.Read.All" in last, last
    assert snapshots(tmp_path, "usage_teams_user_activity_user_detail")  # the other reports loaded


def test_a_recomputed_day_replaces_that_days_rows(tenant: EmulatorServer, tmp_path: Path) -> None:
    assert sync(tenant, tmp_path).returncode == 0
    before = {table: snapshots(tmp_path, table) for table in REPORTS}
    upns = dict(stored(tmp_path, "select id, user_principal_name from o365_raw.users"))
    gone = admin(tenant, "POST", "mutate", {"seed": 3, "ops": [{"entity": "users", "op": "delete"}]})
    came = admin(tenant, "POST", "mutate", {"seed": 4, "ops": [{"entity": "users", "op": "create"}]})
    admin(tenant, "POST", "mutate", {"ops": [{"entity": table, "op": "recompute"} for table in REPORTS]})

    again = sync(tenant, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_reports_equal_truth(tenant, tmp_path)  # no row of the day's first computation is left over
    for table in REPORTS:
        after = snapshots(tmp_path, table)
        assert [day for day, _, _ in after] == [day for day, _, _ in before[table]], table  # still one day
    named = {
        row[0]
        for row in stored(tmp_path, "select user_principal_name from o365_raw.usage_office365_active_user_detail")
    }
    deleted = upns[gone.json()["changes"][0]["ids"][0]]
    created = dict(stored(tmp_path, "select id, user_principal_name from o365_raw.users"))[
        came.json()["changes"][0]["ids"][0]
    ]
    assert deleted not in named and created in named


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "body": "<html><body>Sign in to your proxy</body></html>", "content_type": "text/html"},
        {"status": 200, "body": "", "content_type": "text/csv"},
        {"status": 403, "body": "<Error><Code>AuthenticationFailed</Code></Error>", "content_type": "application/xml"},
    ],
    ids=["html-page", "empty-body", "refused-download"],
)
def test_a_download_that_is_not_the_report_fails_the_run_and_keeps_the_stored_snapshots(
    tenant: EmulatorServer, tmp_path: Path, answer: dict[str, object]
) -> None:
    assert sync(tenant, tmp_path).returncode == 0
    before = {table: snapshots(tmp_path, table) for table in REPORTS}
    admin(tenant, "POST", "mutate", {"ops": [{"entity": table, "op": "advance"} for table in REPORTS]})

    tenant.emu.inject.set([{"path": r"^/_reports/download/", **answer}])
    try:
        failed = sync(tenant, tmp_path)
    finally:
        tenant.emu.inject.set([])
    assert failed.returncode == 1, failed.stderr[-2000:]
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "download" in last and "permission" not in last, last
    assert "Traceback" not in failed.stderr and "/_reports/download/" not in failed.stderr  # the URL is the credential
    assert {table: snapshots(tmp_path, table) for table in REPORTS} == before  # nothing loaded, nothing lost

    assert sync(tenant, tmp_path).returncode == 0  # the next run reads the new day
    assert_reports_equal_truth(tenant, tmp_path)
