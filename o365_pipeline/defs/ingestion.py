"""Raw tables: one Dagster asset per entity, materialized together by dlt through dagster-dlt."""

from collections.abc import Iterator

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ..auth import O365Auth
from ..config import PipelineConfig
from ..graph.entities import ENTITIES
from ..graph.source import SyncRun, o365_source
from ..sync import make_client, make_pipeline

RAW_KEY_PREFIX = "o365_raw"
DUCKDB_POOL = "duckdb"  # DuckDB has one writer: every asset that writes the file runs in this pool.


def raw_asset_key(entity: str) -> dg.AssetKey:
    """Asset key of an entity's raw table (dbt sources point at it)."""
    return dg.AssetKey([RAW_KEY_PREFIX, entity])


class O365DltTranslator(DagsterDltTranslator):
    """Keys ``o365_raw/<table>``, grouped by workload, described from the entity table."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        entity = ENTITIES[data.resource.name]
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=raw_asset_key(entity.name),
            deps=[],
            group_name=entity.workload,
            description=entity.description,
            kinds={"dlt", "duckdb"},
            owners=[],
        ).merge_attributes(metadata={"graph_path": entity.path, "permission": entity.permission})


class SyncConfig(dg.Config):
    """Run configuration of the raw-table sync."""

    full_refresh: bool = False
    """Drop the selected raw tables and their delta state, then re-read everything from Graph."""


@dlt_assets(
    # Built without a client, for the asset specs only; every run builds a fresh source (dagster-dlt
    # mutates the source it runs, and credentials must be read at run time, not import time).
    dlt_source=o365_source(SyncRun(client=None)),
    dlt_pipeline=make_pipeline(PipelineConfig()),
    name="o365_raw_tables",
    dagster_dlt_translator=O365DltTranslator(),
    pool=DUCKDB_POOL,
)
def o365_raw_tables(
    context: dg.AssetExecutionContext, dlt: DagsterDltResource, o365: O365Auth, config: SyncConfig
) -> Iterator[dg.MaterializeResult]:
    """Sync the selected entities from Graph into DuckDB and report each entity's figures."""
    settings = PipelineConfig.from_env()
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    o365.validate()
    with make_client(o365) as client:
        run = SyncRun(client=client, users=settings.users)
        results = dlt.run(
            context=context,
            dlt_source=o365_source(run),
            dlt_pipeline=make_pipeline(settings),
            refresh="drop_resources" if config.full_refresh else None,
        )
        for result in results:
            entity = result.asset_key.path[-1] if result.asset_key else ""
            figures = run.stats[entity].as_metadata() if entity in run.stats else {}
            context.log.info(f"{entity}: {figures}")
            yield result._replace(metadata={**(result.metadata or {}), **figures})
