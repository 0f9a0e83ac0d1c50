"""Raw tables: one Dagster asset per entity, materialized together by dlt through dagster-dlt."""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from .. import outlook_ids
from ..auth import O365Auth
from ..config import PipelineConfig
from ..destination_access import check_not_locked, check_writable, exclusive, lock_files
from ..gc_tuning import fewer_gc_passes
from ..graph.entities import ENTITIES, Entity
from ..graph.entity_columns import column_descriptions, column_types
from ..graph.id_types import IMMUTABLE
from ..graph.source import SyncRun, o365_source
from ..shards import Shard, shard_of
from ..sync import check_users, load_errors, make_client, make_pipeline, pipeline_name, prune_state, purge_mailbox
from .cadence import raw_freshness
from .partitions import MAILBOX_ENTITIES, MAILBOXES, TENANT_ENTITIES, runs_at_once, shard_partitions

RAW_KEY_PREFIX = "o365_raw"
DUCKDB_POOL = "duckdb"  # DuckDB has one writer: every asset that writes the file runs in this pool.
MISSING_PERMISSION = "missing_permission"  # materialization metadata of an entity Graph refused (403)


def raw_asset_key(entity: str) -> dg.AssetKey:
    """Asset key of an entity's raw table (dbt sources point at it)."""
    return dg.AssetKey([RAW_KEY_PREFIX, entity])


COLUMN_SCHEMA = "dagster/column_schema"


def column_schema(entity: Entity) -> dg.TableSchema:
    """The declared raw columns of an entity with their types and descriptions (the asset's Columns tab)."""
    types = column_types(entity)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=types[name], description=text)
            for name, text in column_descriptions(entity).items()
        ]
    )


def described(entity: Entity, schema: dg.TableSchema) -> dg.TableSchema:
    """A materialization's column schema (what dlt stored) with the catalogue's descriptions added."""
    texts = column_descriptions(entity)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                description=column.description or texts.get(column.name),
                constraints=column.constraints,
                tags=column.tags,
            )
            for column in schema.columns
        ],
        constraints=schema.constraints,
    )


def with_descriptions(entity_name: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Materialization metadata whose ``dagster/column_schema`` carries the catalogue's column descriptions."""
    schema = metadata.get(COLUMN_SCHEMA)
    value = getattr(schema, "value", schema)
    if entity_name not in ENTITIES or not isinstance(value, dg.TableSchema):
        return dict(metadata)
    return {**metadata, COLUMN_SCHEMA: described(ENTITIES[entity_name], value)}


class O365DltTranslator(DagsterDltTranslator):
    """Keys ``o365_raw/<table>``, grouped by workload, described from the entity table, fresh per workload cadence."""

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
            freshness_policy=raw_freshness(entity.workload),
        ).merge_attributes(
            metadata={
                "graph_path": entity.path,
                "permission": entity.permission,
                COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(entity)),
            }
        )


class SyncConfig(dg.Config):
    """Run configuration of the raw-table sync."""

    full_refresh: bool = False
    """Drop the selected raw tables and their delta state, then re-read everything from Graph."""

    mailboxes: list[str] = []
    """A shard run: read only these mailboxes (user ids) of the shard, e.g. to re-sync one mailbox alone."""


def build_raw_assets(
    name: str,
    entities: Sequence[str] = (),
    partitions_def: dg.PartitionsDefinition | None = None,
    pool: str | None = DUCKDB_POOL,
) -> dg.AssetsDefinition:
    """The dlt multi-asset of the given entities (all when empty); with ``partitions_def``, partitioned by
    mailbox shard (static partitions) or by mailbox (dynamic): a run syncs one shard's or one mailbox's content
    with that partition's own dlt pipeline (and state). ``pool`` None: runs of different partitions write at
    once (a destination with concurrent writers)."""
    sharded = isinstance(partitions_def, dg.StaticPartitionsDefinition)

    @dlt_assets(
        # Built without a client, for the asset specs only; every run builds a fresh source (dagster-dlt
        # mutates the source it runs, and credentials must be read at run time, not import time).
        dlt_source=o365_source(SyncRun(client=None), entities=entities),
        dlt_pipeline=make_pipeline(PipelineConfig()),
        name=name,
        dagster_dlt_translator=O365DltTranslator(),
        partitions_def=partitions_def,
        pool=pool,
    )
    def _raw_tables(
        context: dg.AssetExecutionContext, dlt: DagsterDltResource, o365: O365Auth, config: SyncConfig
    ) -> Iterator[dg.MaterializeResult]:
        """Sync the selected entities from Graph into DuckDB and report each entity's figures."""
        settings = PipelineConfig.from_env()
        partition = context.partition_key if context.has_partition_key else None
        shard = Shard.parse(partition) if partition is not None and sharded else None
        mailbox = partition if shard is None else None
        if partition is not None and config.full_refresh:
            raise dg.Failure(
                description="full_refresh drops whole tables, every mailbox's rows with them: run it without "
                "partitions (O365_MAILBOX_SHARDS=0, O365_PARTITION_BY_MAILBOX=0, or `o365-pipeline sync "
                "--full-refresh`)"
            )
        users = shard_run_users(shard, config.mailboxes, settings.users)
        o365.validate()
        check_writable(settings)
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(lock_files(settings, pipeline_name(settings, mailbox=mailbox, shard=shard))):
            check_not_locked(settings)
            pipeline = make_pipeline(settings, mailbox=mailbox, shard=shard)
            selected = [key.path[-1] for key in context.selected_asset_keys]
            id_types = outlook_ids.plan(pipeline, settings, selected, config.full_refresh)
            runs = runs_at_once(context.instance) if shard is not None else None
            with make_client(o365, runs=runs) as client, load_errors(pipeline), fewer_gc_passes():
                if shard is not None:  # the share of Graph's per-app budget this run keeps to
                    context.log.info(f"{shard.key}: Graph budget share {client.pacing.overall} ({runs} runs at once)")
                # A mailbox partition restricts the run to that user: the "users gone" reconcile, which drops
                # every other mailbox's rows, only runs when a run covers all users (readers.per_user); a shard's
                # reconcile drops only its own mailboxes gone.
                run = SyncRun(
                    client=client,
                    users=(mailbox,) if mailbox is not None else users,
                    shard=shard.owns if shard is not None else None,
                    file_format=settings.file_format,
                    outlook_ids=id_types.id_type if id_types is not None else IMMUTABLE,
                )
                outlook_ids.begin(pipeline, id_types)
                if partition is None:
                    check_users(run)  # O365_USERS (a partition or shard names its own mailboxes)
                results = dlt.run(
                    context=context,
                    dlt_source=o365_source(run, entities=entities),
                    dlt_pipeline=pipeline,
                    refresh="drop_resources" if config.full_refresh else None,
                )
                for result in results:
                    entity = result.asset_key.path[-1] if result.asset_key else ""
                    figures: dict[str, Any] = run.stats[entity].as_metadata() if entity in run.stats else {}
                    if entity in run.stats and (denied := run.stats[entity].denied) is not None:
                        figures[MISSING_PERMISSION] = denied.permission  # its graph_permission check fails on it
                    context.log.info(f"{entity}: {figures}")
                    metadata = with_descriptions(entity, {**(result.metadata or {}), **figures})
                    yield result._replace(metadata=metadata)
                outlook_ids.finish(pipeline, id_types)
                prune_state(pipeline)  # older copies of the state are never read again
                if mailbox is not None and not run.tenant.users_for_content():
                    # The mailbox is gone upstream: its own rows and state go (the sensor then deletes the
                    # partition).
                    tables = [key.path[-1] for key in context.selected_asset_keys]
                    dropped = purge_mailbox(make_pipeline(settings, mailbox=mailbox), mailbox, tables)
                    context.log.info(f"mailbox {mailbox} is gone: deleted its {dropped} rows and its delta state")

    return _raw_tables


def shard_run_users(shard: Shard | None, mailboxes: Sequence[str], users: Sequence[str]) -> Sequence[str]:
    """The users a run restricts to: the run config's ``mailboxes`` (a shard run only, each of that shard), else
    ``O365_USERS``.

    Raises:
        dg.Failure: ``mailboxes`` outside a shard run, or a mailbox of another shard (named).
    """
    if not mailboxes:
        return users
    if shard is None:
        raise dg.Failure(description="run config mailboxes applies to shard runs only (O365_MAILBOX_SHARDS)")
    elsewhere = [
        f"{m} is in {Shard(shard_of(m, shard.count), shard.count).key}" for m in mailboxes if not shard.owns(m)
    ]
    if elsewhere:
        raise dg.Failure(description=f"mailboxes not in {shard.key}: {'; '.join(elsewhere)}: launch that partition")
    return tuple(mailboxes)


# Every raw table in one unpartitioned multi-asset: the default, and what small tenants need.
o365_raw_tables = build_raw_assets("o365_raw_tables")


def build_partitioned_raw_assets(shards: int = 0, destination: str = "duckdb") -> list[dg.AssetsDefinition]:
    """Tenant-wide tables unpartitioned, per-user tables partitioned by mailbox shard (``O365_MAILBOX_SHARDS``)
    or by mailbox (``O365_PARTITION_BY_MAILBOX``). Shards write at once on Postgres; on DuckDB (one writer) they
    queue in the ``duckdb`` pool."""
    if shards:
        pool = DUCKDB_POOL if destination == "duckdb" else None
        mailbox_tables = build_raw_assets("o365_mailbox_tables", MAILBOX_ENTITIES, shard_partitions(shards), pool)
    else:
        mailbox_tables = build_raw_assets("o365_mailbox_tables", MAILBOX_ENTITIES, partitions_def=MAILBOXES)
    return [build_raw_assets("o365_raw_tables", TENANT_ENTITIES), mailbox_tables]
