"""Building the pieces of a sync (Graph client, dlt pipeline, fresh source) and running it headless.

The Dagster assets and ``o365-pipeline sync`` use the same functions, so both load the same tables with the
same state.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import dlt
import duckdb
from dlt.common.pipeline import LoadInfo
from dlt.common.runtime.collector import NullCollector
from dlt.common.schema.exceptions import DataValidationError
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed

from . import outlook_ids
from .auth import GraphCredentials
from .config import PipelineConfig, SettingError
from .destination_access import check_not_locked, check_writable, exclusive, lock_files, locked_by
from .destinations import locked_postgres
from .duckdb_load import LOAD_SETTINGS, bounded_duckdb
from .gc_tuning import fewer_gc_passes, release_freed_memory
from .graph.client import GraphClient
from .graph.early_pages import EarlyPages, stored_links
from .graph.entities import select_entities
from .graph.errors import SchemaChangeError
from .graph.folder_feed import FOLDER_TABLES
from .graph.id_types import IMMUTABLE
from .graph.pacing import PacingSettings
from .graph.readers import FOLDERS, unreadable_recheck_seconds
from .graph.reports import report_period
from .graph.source import EntityStats, SyncRun, o365_source
from .shards import MAILBOX_ENTITIES, MAILBOX_SHARDS, Shard, concurrent_runs, share_of_budget

log = logging.getLogger(__name__)

PIPELINE_NAME = "o365"


def make_client(auth: GraphCredentials, runs: int | None = None) -> GraphClient:
    """A Graph client for the configured cloud, trusting ``O365_CA_BUNDLE``, with tokens from ``auth``, paced to
    the request limits of ``O365_GRAPH_LIMIT`` (this run's share: ``O365_CONCURRENT_RUNS``) and
    ``O365_MAILBOX_LIMIT``. A bad budget setting fails here, before any work, with one line naming it.

    ``runs``: the runs sharing the budget when the caller knows it (a Dagster run: its instance's run queue);
    ``O365_CONCURRENT_RUNS`` when set wins, as the operator's word."""
    unreadable_recheck_seconds()
    report_period()
    return GraphClient(
        auth.endpoints().graph_root,
        lambda force_refresh: auth.get_token(force_refresh=force_refresh),
        auth.tls_verify(),
        pacing=share_of_budget(PacingSettings.from_env(), concurrent_runs(fallback=runs)),
    )


def pipeline_name(config: PipelineConfig, mailbox: str | None = None, shard: Shard | None = None) -> str:
    """``o365_<dataset>``, ``o365_<dataset>__mbx_<mailbox>_<hash>`` for one mailbox partition, or
    ``o365_<dataset>__shard_03of16`` for one mailbox shard.

    A mailbox partition or shard has its own pipeline, hence its own dlt state (deltaLinks) both locally and in
    the destination's ``_dlt_pipeline_state``: partition runs never overwrite each other's state.
    """
    name = f"{PIPELINE_NAME}_{config.dataset}"
    if shard is not None:
        return f"{name}__{shard.key}"
    if mailbox is None:
        return name
    if not mailbox.strip():
        raise ValueError("a mailbox partition key must not be empty")
    slug = re.sub(r"[^a-z0-9]+", "_", mailbox.lower()).strip("_")[:64]
    return f"{name}__mbx_{slug}_{hashlib.sha256(mailbox.encode()).hexdigest()[:8]}"


def make_pipeline(config: PipelineConfig, mailbox: str | None = None, shard: Shard | None = None) -> dlt.Pipeline:
    """The dlt pipeline loading into ``O365_DUCKDB_PATH`` (or Postgres), schema ``O365_DATASET``; one per mailbox
    partition or shard.

    Its name includes the dataset so two datasets never share local state; dlt also keeps the state in the
    destination, where the next run restores it from. The staging tables a merge loads through are emptied
    once the load is done: they held a second copy of every row loaded (twice the DuckDB file to write).
    """
    dlt.config["load.truncate_staging_dataset"] = True
    return dlt.pipeline(
        pipeline_name=pipeline_name(config, mailbox, shard),
        destination=make_destination(config, shard),
        dataset_name=config.dataset,
        progress=ReleaseBetweenSteps(),
    )


class ReleaseBetweenSteps(NullCollector):
    """dlt's progress hook used to hand the memory a step freed back to the OS before the next one (normalize,
    load) allocates its own: extraction's parsed pages were freed but kept by the allocators, and DuckDB's load
    came on top of them (bench-scale full sync: peak RSS 584-601 -> ~550 MB)."""

    def _start(self, step: str) -> None:
        if step.startswith(("Normalize", "Load")):
            release_freed_memory()


def make_destination(config: PipelineConfig, shard: Shard | None = None) -> Any:
    """DuckDB at ``O365_DUCKDB_PATH`` (merged in bounded memory: :mod:`.duckdb_load`), or Postgres
    (``O365_DESTINATION=postgres``) reached with ``O365_PG_*`` or, without ``O365_PG_HOST``, dlt's own config
    (``DESTINATION__POSTGRES__CREDENTIALS``).

    A shard loads through its own staging schema (``<dataset>_staging__shard_03of16``): a merge empties the
    staging tables it loads through, and shard runs load side by side."""
    staging = {"staging_dataset_name_layout": f"%s_staging__{shard.key}"} if shard is not None else {}
    if config.destination == "duckdb":
        settings = {**LOAD_SETTINGS, "memory_limit": config.duckdb_memory_limit}
        return bounded_duckdb(DuckDbCredentials(str(config.duckdb_path), global_config=settings), **staging)
    pg = config.postgres
    if pg is None:
        return locked_postgres(**staging)
    credentials = {
        "drivername": "postgresql",
        "host": pg["host"],
        "port": int(pg.get("port") or 5432),
        "username": pg.get("user") or "postgres",
        "password": pg.get("password") or "",  # dlt wants one even where the server trusts
        "database": pg.get("dbname") or "postgres",
    }
    return locked_postgres(credentials=credentials, **staging)


def purge_mailbox(pipeline: dlt.Pipeline, mailbox: str, tables: Sequence[str]) -> int:
    """Delete a mailbox's rows from ``tables`` and the pipeline's stored state; returns the rows deleted.

    For the partition of a mailbox that is gone (deleted user, no mail any more): its rows go, and its
    deltaLinks with them, so a mailbox that comes back is read from scratch rather than from stale links.
    """
    deleted = 0
    with pipeline.sql_client() as client:
        present = {
            row[0]
            for row in client.execute_sql(
                "select table_name from information_schema.tables where table_schema = %s", pipeline.dataset_name
            )
            or []
        }
        for table in tables:
            if table not in present:
                continue
            name = client.make_qualified_table_name(table)
            deleted += int(client.execute_sql(f"select count(*) from {name} where user_id = %s", mailbox)[0][0])
            client.execute_sql(f"delete from {name} where user_id = %s", mailbox)
        if "_dlt_pipeline_state" in present:
            state = client.make_qualified_table_name("_dlt_pipeline_state")
            client.execute_sql(f"delete from {state} where pipeline_name = %s", pipeline.pipeline_name)
    pipeline.drop()  # the local copy of the state goes too
    return deleted


def schema_change(exc: BaseException, pipeline: dlt.Pipeline) -> SchemaChangeError | None:
    """The :class:`SchemaChangeError` behind a failed dlt step, if a frozen column type is what failed it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SchemaChangeError):  # found by the Arrow path while converting rows
            return current
        if isinstance(current, DataValidationError) and current.schema_entity == "data_type":
            column, _, sent = (current.column_name or "").partition("__v_")  # dlt names variants <column>__v_<type>
            table = current.table_name or ""
            stored = pipeline.default_schema.tables.get(table, {}).get("columns", {}).get(column, {})
            return SchemaChangeError(
                pipeline.dataset_name, table, column, stored.get("data_type", "another type"), sent or "another type"
            )
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


class DestinationMemoryError(RuntimeError):
    """DuckDB hit ``O365_DUCKDB_MEMORY_LIMIT`` while loading; the run's changes are read again next time."""


def out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB's memory limit is what failed a dlt step."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, duckdb.OutOfMemoryException):
            return True
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def load_errors(pipeline: dlt.Pipeline) -> Iterator[None]:
    """Turn a failed run into one clear error: :class:`DestinationMemoryError` when DuckDB hit its memory limit,
    :class:`SchemaChangeError` when a column's type changed upstream (the broken schema contract),
    :class:`.destination_access.DestinationBusyError` when another program holds the DuckDB file,
    :class:`LoadDiscardedError` for any other failure of the normalize or load step.

    Whatever failed, the run's package and the local state it carried are dropped: dlt would otherwise retry a
    pending package first in every later run (and fail the same way). Nothing of the run is loaded later, and the
    next run starts from the state stored with the last completed load (dlt restores only those), so it reads
    the same changes again.
    """
    try:
        yield
    except PipelineStepFailed as exc:
        error = _clear_error(exc, pipeline)
        pipeline.drop()
        if error is None:
            raise
        raise error from exc


class LoadDiscardedError(RuntimeError):
    """The normalize or load step failed; the run's package was dropped and its changes are read again."""


def _clear_error(exc: PipelineStepFailed, pipeline: dlt.Pipeline) -> Exception | None:
    """The one-line error for a failed dlt step, if it is one we can name (read before the state is dropped)."""
    if out_of_memory(exc):
        return DestinationMemoryError(
            "DuckDB ran out of memory loading the raw tables: raise "
            "O365_DUCKDB_MEMORY_LIMIT; nothing of this run's delta state was committed, the next run reads the "
            "same changes again"
        )
    error: Exception | None = schema_change(exc, pipeline) or locked_by(exc)
    if error is None and exc.step in ("normalize", "load"):
        cause = _innermost(exc)
        error = LoadDiscardedError(
            f"the {exc.step} step failed ({type(cause).__name__}: {str(cause).strip().splitlines()[0][:300]}); "
            "nothing of this run was loaded, the next run reads the same changes again"
        )
    return error


def _innermost(exc: BaseException) -> BaseException:
    """The exception at the end of ``exc``'s chain (what dlt's step failure wraps)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen:
        seen.add(id(current))
        following = getattr(current, "exception", None) or current.__cause__ or current.__context__
        if not isinstance(following, BaseException):
            break
        current = following
    return current


def prune_state(pipeline: dlt.Pipeline) -> int:
    """Delete the pipeline's stored state rows older than its last loaded one; returns how many went.

    dlt adds a copy of the whole state (every deltaLink of the tenant: ~14 MB for 5,000 mailboxes) to
    ``_dlt_pipeline_state`` with every load whose state changed, and only ever restores the newest one of a
    finished load: without this the table grew by that much with every sync.
    """
    with pipeline.sql_client() as client:
        state = client.make_qualified_table_name("_dlt_pipeline_state")
        loads = client.make_qualified_table_name("_dlt_loads")
        newest = (
            f"select max(s._dlt_load_id) from {state} as s join {loads} as l on l.load_id = s._dlt_load_id"
            " where s.pipeline_name = %s and l.status = 0"
        )
        try:
            rows = client.execute_sql(
                f"select count(*) from {state} where pipeline_name = %s and _dlt_load_id < ({newest})",
                pipeline.pipeline_name,
                pipeline.pipeline_name,
            )
        except Exception as exc:  # nothing loaded yet: no state table
            if "does not exist" not in str(exc) and "not found" not in str(exc).lower():
                raise
            return 0
        old = int(rows[0][0]) if rows else 0
        if old:
            client.execute_sql(
                f"delete from {state} where pipeline_name = %s and _dlt_load_id < ({newest})",
                pipeline.pipeline_name,
                pipeline.pipeline_name,
            )
    return old


def last_links(pipeline: dlt.Pipeline, entities: Sequence[str]) -> dict[str, dict[str, str]]:
    """The deltaLinks in the pipeline's local state (the last run's), if readable, of the selected entities that
    read their own streams (an attachment table riding on its selected parent asks none)."""
    chosen = select_entities(tuple(entities))
    selected = {entity.name for entity in chosen}
    names = {entity.name for entity in chosen if entity.parent not in selected}
    try:
        links = stored_links(pipeline.state)
    except Exception as exc:  # a local state that cannot be read is dropped and restored anyway
        log.debug("local pipeline state not readable (%s): no early first pages", exc)
        return {}
    shared = {name for name, table in FOLDER_TABLES.items() if table in selected}  # folder lists come from there
    return {
        name: {key: link for key, link in entity_links.items() if name not in shared or not key.endswith(f"/{FOLDERS}")}
        for name, entity_links in links.items()
        if name in names
    }


def sharded_entities(selected: Sequence[str], full_refresh: bool) -> tuple[str, ...]:
    """The entities of a shard run: the per-mailbox tables selected (all of them when none is).

    Raises:
        SettingError: naming ``O365_ENTITIES`` for a tenant-wide table, ``O365_MAILBOX_SHARDS`` for a full refresh.
    """
    if full_refresh:
        raise SettingError(
            MAILBOX_SHARDS, "a shard run cannot --full-refresh (it drops every shard's rows): run it without --shard"
        )
    whole = [name for name in selected if name not in MAILBOX_ENTITIES]
    if whole:
        raise SettingError(
            "O365_ENTITIES",
            f"{', '.join(whole)} is not split into shards; per-mailbox tables: {', '.join(MAILBOX_ENTITIES)}",
        )
    return tuple(selected) or MAILBOX_ENTITIES


@dataclass
class SyncReport:
    """What a headless sync did, per entity."""

    stats: dict[str, EntityStats]
    load_info: LoadInfo
    seconds: float
    requests_by_mailbox: dict[str, int]
    longest_chain: tuple[int, int] = (0, 0)  # pages and items of the longest chain of nextLinks


def run_sync(
    auth: GraphCredentials,
    config: PipelineConfig,
    entities: Sequence[str] = (),
    full_refresh: bool = False,
    watch: Callable[[SyncRun], AbstractContextManager[object]] | None = None,
    shard: Shard | None = None,
) -> SyncReport:
    """Sync the selected entities (default ``O365_ENTITIES``, else all) into DuckDB.

    Args:
        auth: the configured authentication.
        config: destination and selection settings.
        entities: raw table names; overrides ``config.entities`` when given.
        full_refresh: drop the selected tables and their delta state, then re-read everything.
        watch: entered around the dlt run with the sync's :class:`SyncRun`, whose figures grow as it goes
            (``o365-pipeline sync`` shows them as progress).
        shard: read only this shard's mailboxes, with the shard's own pipeline (state); the selected entities
            must all be per-mailbox tables (default: all of them).

    Raises:
        SettingError: a shard run selects a tenant-wide table, or asks for a full refresh (it would drop every
            shard's rows).
    """
    auth.validate()
    check_writable(config)
    config.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    selected = tuple(entities) or config.entities
    if shard is not None:
        selected = sharded_entities(selected, full_refresh)
    with exclusive(lock_files(config, pipeline_name(config, shard=shard))):
        check_not_locked(config)
        pipeline = make_pipeline(config, shard=shard)
        previous = {} if full_refresh else last_links(pipeline, selected)
        pipeline.drop()  # local state is restored from the destination: a crashed run leaves nothing behind
        id_types = outlook_ids.plan(pipeline, config, selected, full_refresh)
        with make_client(auth) as client, fewer_gc_passes():
            run = SyncRun(
                client=client,
                users=config.users,
                shard=shard.owns if shard is not None else None,
                file_format=config.file_format,
                outlook_ids=id_types.id_type if id_types is not None else IMMUTABLE,
            )
            check_users(run)
            run.early = EarlyPages(previous, run.view, run.workers)  # while dlt restores its state
            try:
                outlook_ids.begin(pipeline, id_types)
                source = o365_source(run, entities=selected)
                with watch(run) if watch is not None else contextlib.nullcontext(), load_errors(pipeline):
                    load_info = pipeline.run(source, refresh="drop_resources" if full_refresh else None)
            finally:
                run.cancel()  # nothing of this run sends a request once it is over (a failed run: at once)
                run.early.close()
        load_info.raise_on_failed_jobs()
        outlook_ids.finish(pipeline, id_types)
        prune_state(pipeline)  # inside the lock: it writes to the destination
    for name, stats in run.stats.items():
        log.info("%s: %s", name, stats.as_metadata())
    return SyncReport(
        stats=run.stats,
        load_info=load_info,
        seconds=time.perf_counter() - started,
        requests_by_mailbox=dict(client.mailbox_requests),
        longest_chain=(client.longest_chain[0], client.longest_chain[1]),
    )


def check_users(run: SyncRun) -> None:
    """Fail with one line listing the ``O365_USERS`` values that name no user of the tenant (nothing would be
    read for them, silently)."""
    if not run.users:
        return
    unknown = run.tenant.unknown_users()
    if unknown:
        raise SettingError(
            "O365_USERS",
            f"no user of the tenant has the id or user principal name {', '.join(unknown)}; fix or remove "
            f"{'it' if len(unknown) == 1 else 'them'}",
        )
