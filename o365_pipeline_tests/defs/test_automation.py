"""Schedules (shipped stopped, crons from settings), eager dbt models, and the run-failure summary."""

import datetime as dt

import dagster as dg
import pytest
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import SettingError
from o365_pipeline.definitions import defs
from o365_pipeline.defs.automation import (
    build_schedules,
    entity_for_path,
    run_failure_summary,
    summarize_failure,
    workload_cron,
)
from o365_pipeline.defs.ingestion import o365_raw_tables
from o365_pipeline.emulator import EmulatorServer

GRAPH = defs.resolve_asset_graph()


def test_schedules_ship_stopped_unless_switched_on() -> None:
    assert {s.default_status for s in build_schedules({})} == {dg.DefaultScheduleStatus.STOPPED}
    running = build_schedules({"O365_SCHEDULES_ON": "1"})
    assert {s.default_status for s in running} == {dg.DefaultScheduleStatus.RUNNING}
    assert {s.name for s in running} >= {"sync_directory_schedule", "sync_mail_schedule", "sync_files_schedule"}


def test_directory_daily_activity_hourly_and_overridable() -> None:
    assert workload_cron("directory", {}) == "0 2 * * *"
    assert workload_cron("mail", {}).split()[1] == "*"
    assert workload_cron("mail", {"O365_SCHEDULE_MAIL": "*/30 * * * *"}) == "*/30 * * * *"
    with pytest.raises(SettingError, match="O365_SCHEDULE_CALENDAR"):
        workload_cron("calendar", {"O365_SCHEDULE_CALENDAR": "every hour"})


def test_schedule_tick_requests_its_workload_raw_tables() -> None:
    schedule = defs.get_schedule_def("sync_mail_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 27, 5, 5, tzinfo=dt.UTC))
    requests = schedule.evaluate_tick(context).run_requests or []
    assert len(requests) == 1
    job = defs.resolve_job_def("sync_mail")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == {"o365_raw/mail_folders", "o365_raw/messages", "o365_raw/message_attachments"}


def test_dbt_models_are_eager_and_raw_tables_are_not() -> None:
    stg = GRAPH.get(dg.AssetKey(["staging", "stg_graph__messages"]))
    assert stg.automation_condition is not None and stg.automation_condition.get_label() == "eager"
    assert GRAPH.get(dg.AssetKey(["o365_raw", "messages"])).automation_condition is None
    sensor = defs.get_sensor_def("dbt_after_ingestion")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


@pytest.mark.parametrize(
    ("message", "entity", "fix"),
    [
        (
            "GraphError: Graph 403 ErrorAccessDenied on /v1.0/users/u1/mailFolders/f1/messages/delta: denied",
            "messages",
            "grant the application permission Mail.ReadBasic.All (or drop messages from O365_ENTITIES)",
        ),
        ("O365AuthError: invalid client secret (setting O365_OAUTH_CLIENT_SECRET)", "all", "O365_OAUTH_CLIENT_SECRET"),
        ("Graph 401 InvalidAuthenticationToken on /v1.0/groups/delta: expired", "groups", "O365_OAUTH_CLIENT_SECRET"),
        (
            "SchemaChangeError: schema change in o365_raw.events__attendees.status: Graph sent text where the "
            "column holds bigint; nothing was loaded. Rebuild the table with `o365-pipeline sync --full-refresh`",
            "events",
            "materialize o365_raw/events with run config full_refresh: true",
        ),
        ("KeyError: 'x'", "all", "see the run's event log"),
    ],
)
def test_failure_summary_names_entity_cause_and_fix(message: str, entity: str, fix: str) -> None:
    summary = summarize_failure(message)
    assert summary.entity == entity
    assert summary.fix.startswith(fix)


def test_entity_for_path_follows_the_entity_table() -> None:
    assert entity_for_path("/v1.0/users/abc/drive/root/delta") == "drive_items"
    assert entity_for_path("/v1.0/planner/plans/p1/tasks") == "planner_tasks"
    assert entity_for_path("/v1.0/nothing/here") is None


def test_run_failure_sensor_logs_the_setting_to_fix(
    emulator: EmulatorServer,
    o365_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("O365_OAUTH_CLIENT_SECRET", "not-the-secret")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [o365_raw_tables],
        selection=dg.AssetSelection.assets(dg.AssetKey(["o365_raw", "organization"])),
        resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_summary",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    capfd.readouterr()
    run_failure_summary(context)
    logged = capfd.readouterr().err
    lines = [line for line in logged.splitlines() if "entity=" in line]
    assert len(lines) == 1 and "fix=O365_OAUTH_CLIENT_SECRET" in lines[0], lines
    assert "not-the-secret" not in lines[0]


def test_synced_raw_table_makes_its_staging_view_eager_but_not_marts_with_missing_inputs() -> None:
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # nothing synced yet: every model has a missing input
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=dg.AssetKey(["o365_raw", "users"])))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert result.get_num_requested(dg.AssetKey(["staging", "stg_graph__users"])) == 1
    assert result.get_num_requested(dg.AssetKey(["staging", "stg_graph__messages"])) == 0  # never synced
    assert result.get_num_requested(dg.AssetKey(["marts", "users"])) == 0  # needs mail, sign-ins and SKUs too
