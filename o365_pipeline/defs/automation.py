"""Schedules per workload, declarative automation of the dbt models, and the run-failure sensor.

Everything ships stopped: a fresh deployment does not start calling Graph until someone turns the schedules on
in the UI or sets ``O365_SCHEDULES_ON=1``. Crons are ``O365_SCHEDULE_<WORKLOAD>`` settings (e.g.
``O365_SCHEDULE_MAIL="*/30 * * * *"``).
"""

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._utils.schedules import is_valid_cron_string

from ..config import SettingError
from ..graph.entities import ENTITIES
from .cadence import DEFAULT_CRONS
from .ingestion import raw_asset_key
from .partitions import (
    MAILBOX_ENTITIES,
    MAILBOX_JOB,
    mailbox_partition_sensor,
    mailbox_run_requests,
    partition_by_mailbox,
    shard_count,
    tenant_tag,
)

WORKLOADS: tuple[str, ...] = tuple(dict.fromkeys(entity.workload for entity in ENTITIES.values()))
SCHEDULES_ON = "O365_SCHEDULES_ON"


def schedules_on(environ: Mapping[str, str] | None = None) -> bool:
    """``O365_SCHEDULES_ON=1`` (or true/yes) starts schedules and automation as running."""
    value = (os.environ if environ is None else environ).get(SCHEDULES_ON, "").strip().lower()
    return value in {"1", "true", "yes", "on"}


def default_status(environ: Mapping[str, str] | None = None) -> dg.DefaultScheduleStatus:
    """RUNNING only when ``O365_SCHEDULES_ON`` says so; STOPPED otherwise."""
    return dg.DefaultScheduleStatus.RUNNING if schedules_on(environ) else dg.DefaultScheduleStatus.STOPPED


def workload_cron(workload: str, environ: Mapping[str, str] | None = None) -> str:
    """The cron of a workload: ``O365_SCHEDULE_<WORKLOAD>`` or its default.

    Raises:
        SettingError: naming the setting when its value is not a valid cron string.
    """
    setting = f"O365_SCHEDULE_{workload.upper()}"
    cron = (os.environ if environ is None else environ).get(setting, "").strip() or DEFAULT_CRONS[workload]
    if not is_valid_cron_string(cron):
        raise SettingError(setting, f"{cron!r} is not a cron string (five fields, e.g. '0 * * * *')")
    return cron


def workload_job(workload: str, entities: Sequence[str] = (), suffix: str = "") -> UnresolvedAssetJobDefinition:
    """A job materializing raw tables of one workload (all, or ``entities``); dbt follows through automation."""
    names = entities or [e.name for e in ENTITIES.values() if e.workload == workload]
    return dg.define_asset_job(
        name=f"sync_{workload}{suffix}",
        selection=dg.AssetSelection.assets(*(raw_asset_key(name) for name in names)),
        description=f"Sync the {workload} raw tables from Microsoft Graph"
        + (", one mailbox partition per run." if suffix == "" and entities else "."),
    )


def mailbox_job(environ: Mapping[str, str] | None = None) -> UnresolvedAssetJobDefinition:
    """Every per-mailbox raw table of one partition (a mailbox shard, or a mailbox: what the mailbox sensor runs
    for a new mailbox), its runs tagged with the tenant (the instance limits a tenant's runs at once)."""
    return dg.define_asset_job(
        name=MAILBOX_JOB,
        selection=dg.AssetSelection.assets(*(raw_asset_key(name) for name in MAILBOX_ENTITIES)),
        description="Sync the content (mail, calendar, contacts, files) of one partition's mailboxes: one run per "
        "mailbox shard or mailbox partition.",
        tags=tenant_tag(environ),
    )


def workload_parts(workload: str, partitioned: bool) -> list[tuple[str, list[str], bool]]:
    """(job suffix, entities, per mailbox) of a workload's jobs: one job, or with mailbox partitions the
    mailbox-partitioned tables in ``sync_<workload>`` and the tenant-wide rest (calendars) in
    ``sync_<workload>_tenant``."""
    names = [e.name for e in ENTITIES.values() if e.workload == workload]
    per_mailbox = [name for name in names if name in MAILBOX_ENTITIES] if partitioned else []
    if not per_mailbox:
        return [("", [], False)]
    rest = [name for name in names if name not in per_mailbox]
    return [("", per_mailbox, True), *([("_tenant", rest, False)] if rest else [])]


def build_schedules(environ: Mapping[str, str] | None = None, partitioned: bool = False) -> list[dg.ScheduleDefinition]:
    """One schedule per workload job, on the workload's cron, stopped unless ``O365_SCHEDULES_ON`` is set.
    With mailbox partitions, a tick of a per-mailbox job requests one run per mailbox partition."""
    status = default_status(environ)
    return [
        dg.ScheduleDefinition(
            name=f"sync_{workload}{suffix}_schedule",
            job=workload_job(workload, entities, suffix),
            cron_schedule=workload_cron(workload, environ),
            execution_timezone="UTC",
            default_status=status,
            description=f"Sync {workload} (cron from O365_SCHEDULE_{workload.upper()})"
            + (", one run per mailbox partition." if per_mailbox else "."),
            execution_fn=mailbox_run_requests if per_mailbox else None,
        )
        for workload in WORKLOADS
        for suffix, entities, per_mailbox in workload_parts(workload, partitioned)
    ]


def build_dbt_automation_sensor(environ: Mapping[str, str] | None = None) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the dbt models' eager conditions: they rebuild after their raw tables were synced."""
    running = schedules_on(environ)
    return dg.AutomationConditionSensorDefinition(
        name="dbt_after_ingestion",
        target=dg.AssetSelection.groups("staging", "marts"),
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        description="Rebuild staging views and marts once their raw tables have new data.",
    )


@dataclass(frozen=True)
class FailureSummary:
    """What failed, why, and which setting or permission fixes it."""

    entity: str
    cause: str
    fix: str

    def line(self, run_id: str) -> str:
        """The one line the sensor logs."""
        return f"run {run_id[:8]} failed: entity={self.entity} cause={self.cause} fix={self.fix}"


_SETTING = re.compile(r"\b(O365_[A-Z_]+)\b")
_GRAPH = re.compile(r"Graph (\d{3}) (\w+) on (\S+?):")
_SCHEMA = re.compile(r"schema change in \w+\.(\w+)\.(\w+):")
_AUTH_STATUSES = {"401": "O365_OAUTH_CLIENT_SECRET / O365_OAUTH_JWT_CERT (credentials rejected)"}


def _entity_patterns() -> list[tuple[str, re.Pattern[str]]]:
    patterns = []
    for entity in ENTITIES.values():
        template = re.escape(entity.path.split("?")[0])
        patterns.append((entity.name, re.compile(r"(?:/v1\.0)?/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", template) + "$")))
    return patterns


ENTITY_PATTERNS = _entity_patterns()


def entity_for_path(path: str) -> str | None:
    """The entity whose Graph path matches a request path (``/v1.0/users/x/mailFolders/delta`` -> mail_folders)."""
    for name, pattern in ENTITY_PATTERNS:
        if pattern.search(path):
            return name
    return None


def summarize_failure(message: str) -> FailureSummary:
    """Read the entity, the cause and the setting to fix out of a step's error message."""
    text = " ".join(message.split())
    entity = None
    fix = None
    graph = _GRAPH.search(text)
    schema = _SCHEMA.search(text)
    if schema:
        table, column = schema.groups()
        entity = table.split("__")[0]
        cause = f"schema change in {table}.{column}"
        fix = f"materialize o365_raw/{entity} with run config full_refresh: true (declared columns: graph/entities.py)"
    elif graph:
        status, code, path = graph.groups()
        entity = entity_for_path(path)
        cause = f"Graph {status} {code}"
        if status == "403" and entity:
            fix = (
                f"grant the application permission {ENTITIES[entity].permission} (or drop {entity} from O365_ENTITIES)"
            )
        elif status in _AUTH_STATUSES:
            fix = _AUTH_STATUSES[status]
        elif status == "429":
            fix = "Graph throttled the sync: narrow O365_ENTITIES / O365_USERS or run less often (O365_SCHEDULE_*)"
    else:
        cause = text[:160] or "unknown error"
    if entity is None:
        named = [name for name in ENTITIES if re.search(rf"\b{name}\b", text)]
        entity = named[0] if named else "all"
    setting = _SETTING.search(text)
    if setting and not schema:
        fix = setting.group(1)
    return FailureSummary(entity=entity, cause=cause, fix=fix or "see the run's event log")


@dg.run_failure_sensor(
    name="run_failure_summary",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs one line per failed run: the entity, the cause and the setting to fix.",
)
def run_failure_summary(context: dg.RunFailureSensorContext) -> None:
    """Write the failed run's one-line summary to the log."""
    messages = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
            error = error.cause
        if error is not None:
            messages.append(error.message.strip())
    message = "\n".join(messages) or (context.failure_event.message or "")
    context.log.error(summarize_failure(message).line(context.dagster_run.run_id))


def build_automation_defs(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Schedules, the dbt automation sensor, the failure sensor and, with mailbox partitions, the mailbox sensor
    (with shards, the per-mailbox job ``sync_mailboxes``)."""
    by_mailbox = partition_by_mailbox(environ)
    sharded = shard_count(environ) > 0
    schedules = build_schedules(environ, by_mailbox or sharded)
    sensors: list[dg.SensorDefinition] = [build_dbt_automation_sensor(environ), run_failure_summary]
    if by_mailbox:
        sensors.append(mailbox_partition_sensor(mailbox_job(environ), schedules_on(environ)))
    # shards need no sensor: a mailbox lands in its shard by its id's hash
    return dg.Definitions(schedules=schedules, sensors=sensors, jobs=[mailbox_job(environ)] if sharded else [])
