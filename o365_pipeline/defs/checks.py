"""Asset checks beyond the dbt tests: raw-table duplicate keys, Graph permissions and column schema changes.

dbt tests are asset checks of the dbt models already (see modeling.py); freshness is a policy on each asset
(cadence.py).
"""

import dagster as dg
import duckdb

from ..config import PipelineConfig
from ..graph.entities import ENTITIES, Entity
from .ingestion import DUCKDB_POOL, MISSING_PERMISSION, raw_asset_key


def key_columns(entity: Entity) -> tuple[str, ...]:
    """The raw table's key: ``id``, or ``user_id, id`` where Graph ids are unique per mailbox only."""
    return entity.key_columns


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


def permission_check(entity: Entity) -> dg.AssetChecksDefinition:
    """A check that the last sync of an entity's raw table read it: it fails when Graph refused the entity (403,
    the app lacks its permission), which the sync then skipped while loading the rest."""
    key = raw_asset_key(entity.name)

    @dg.asset_check(
        asset=key,
        name="graph_permission",
        description=f"Graph let the last sync read this table (application permission {entity.permission}).",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        event = context.instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event is not None else None
        missing = materialization.metadata.get(MISSING_PERMISSION) if materialization is not None else None
        if missing is None:
            return dg.AssetCheckResult(passed=True)
        needs = str(missing.value)
        return dg.AssetCheckResult(
            passed=False,
            metadata={MISSING_PERMISSION: needs},
            description=f"Graph refused {entity.name}: grant the app {needs}, or leave it out with O365_ENTITIES",
        )

    return _check


def build_checks_defs() -> dg.Definitions:
    """Duplicate-key, permission and schema-change checks per raw table."""
    raw_keys = [raw_asset_key(name) for name in ENTITIES]
    checks = [
        *(duplicate_key_check(entity) for entity in ENTITIES.values()),
        *(permission_check(entity) for entity in ENTITIES.values()),
        *dg.build_column_schema_change_checks(assets=raw_keys),
    ]
    return dg.Definitions(asset_checks=checks)
