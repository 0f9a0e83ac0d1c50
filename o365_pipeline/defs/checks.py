"""Asset checks beyond the dbt tests: raw-table duplicate keys, column schema changes, freshness per group.

dbt tests are asset checks of the dbt models already (see modeling.py).
"""

import datetime as dt

import dagster as dg
import duckdb

from ..config import PipelineConfig
from ..graph.entities import ENTITIES, PER_USER_READERS, Entity
from .automation import DEFAULT_CRONS
from .ingestion import DUCKDB_POOL, raw_asset_key
from .modeling import o365_dbt_models

# How old the newest materialization may be before a group counts as overdue: a missed run plus slack.
HOURLY_LIMIT = dt.timedelta(hours=2)
DAILY_LIMIT = dt.timedelta(hours=26)


def key_columns(entity: Entity) -> tuple[str, ...]:
    """The raw table's key: ``id``, or ``user_id, id`` where Graph ids are unique per mailbox only."""
    return ("user_id", "id") if entity.reader in PER_USER_READERS else ("id",)


def duplicate_keys(con: duckdb.DuckDBPyConnection, dataset: str, entity: Entity) -> tuple[int, int] | None:
    """(rows, rows sharing a key with another row) of a raw table; None when the table does not exist yet."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [dataset, entity.name],
    ).fetchall()[0][0]
    if not exists:
        return None
    keys = ", ".join(key_columns(entity))
    rows, duplicates = con.execute(
        f"select coalesce(sum(n), 0), coalesce(sum(n) filter (where n > 1), 0) "
        f'from (select count(*) as n from "{dataset}"."{entity.name}" group by {keys})'
    ).fetchall()[0]
    return int(rows), int(duplicates)


def duplicate_key_check(entity: Entity) -> dg.AssetChecksDefinition:
    """A blocking check that no two rows of an entity's raw table share a key (merges must be idempotent)."""

    @dg.asset_check(
        asset=raw_asset_key(entity.name),
        name="no_duplicate_keys",
        description=f"No two rows share ({', '.join(key_columns(entity))}).",
        blocking=True,
        pool=DUCKDB_POOL,
    )
    def _check() -> dg.AssetCheckResult:
        settings = PipelineConfig.from_env()
        if not settings.duckdb_path.exists():
            return dg.AssetCheckResult(passed=True, metadata={"note": "no DuckDB file yet"})
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            counts = duplicate_keys(con, settings.dataset, entity)
        if counts is None:
            return dg.AssetCheckResult(passed=True, metadata={"note": "no table yet (no rows synced)"})
        rows, duplicates = counts
        return dg.AssetCheckResult(passed=duplicates == 0, metadata={"rows": rows, "duplicate_rows": duplicates})

    return _check


def freshness_limit(workload: str) -> dt.timedelta:
    """Hourly workloads must be at most 2 h old, daily ones 26 h."""
    return HOURLY_LIMIT if DEFAULT_CRONS[workload].split()[1] == "*" else DAILY_LIMIT


def build_checks_defs() -> dg.Definitions:
    """Duplicate-key and schema-change checks per raw table, freshness checks per group (raw and dbt), a sensor."""
    raw_keys = [raw_asset_key(name) for name in ENTITIES]
    workloads = sorted({entity.workload for entity in ENTITIES.values()})
    freshness = [
        check
        for workload in workloads
        for check in dg.build_last_update_freshness_checks(
            assets=[raw_asset_key(e.name) for e in ENTITIES.values() if e.workload == workload],
            lower_bound_delta=freshness_limit(workload),
        )
    ]
    # The models follow the hourly workloads through automation.
    for group in ("staging", "marts"):
        keys = [spec.key for spec in o365_dbt_models.specs if spec.group_name == group]
        freshness.extend(dg.build_last_update_freshness_checks(assets=keys, lower_bound_delta=HOURLY_LIMIT))
    checks = [
        *(duplicate_key_check(entity) for entity in ENTITIES.values()),
        *dg.build_column_schema_change_checks(assets=raw_keys),
        *freshness,
    ]
    return dg.Definitions(
        asset_checks=checks,
        sensors=[dg.build_sensor_for_freshness_checks(freshness_checks=freshness, name="freshness_checks_sensor")],
    )
