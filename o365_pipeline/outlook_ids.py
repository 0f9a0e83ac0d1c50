"""Which Outlook id type a database's tables hold, so one sync never mixes regular and immutable ids.

A new database stores immutable ids (``Prefer: IdType="ImmutableId"``: a message moved to another folder keeps its
id and its row). A database synced before this setting existed holds regular ids and keeps them until its Outlook
tables are rebuilt with the other type (``O365_OUTLOOK_ID_TYPE`` and a full refresh of every Outlook table).

The type lives in a one-row table of the dataset (``_o365_outlook_ids``), shared by every pipeline writing to the
dataset (mailbox partitions and shards too). It is written before the first Outlook load, and a switch is written
in two steps (``pending`` while the rebuild runs, the new type once it loaded): a switch that did not finish must
be run again, never followed by an incremental sync of half-rebuilt tables.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dlt

from .config import PipelineConfig, SettingError
from .destinations import SCHEMA_LOCK
from .graph.entities import ENTITIES, select_entities
from .graph.id_types import ID_TYPES, IMMUTABLE, REGULAR, IdType

log = logging.getLogger(__name__)

SETTING = "O365_OUTLOOK_ID_TYPE"
MARKER_TABLE = "_o365_outlook_ids"
OUTLOOK_TABLES: tuple[str, ...] = tuple(name for name, entity in ENTITIES.items() if entity.outlook)


@dataclass(frozen=True)
class IdTypePlan:
    """A run's Outlook id type: ``id_type`` asked of Graph; ``stored`` what the tables held before (None: nothing
    of Outlook yet); ``switching``: this run rebuilds every Outlook table in ``id_type``."""

    id_type: IdType
    stored: IdType | None
    switching: bool = False
    marked: bool = True  # the dataset has its marker row (a database synced before it existed has none)


def parse_id_type(value: str | None) -> IdType | None:
    """A stored id type (``immutable``, ``regular``; None when unset or unknown)."""
    text = (value or "").strip().lower()
    return next((id_type for id_type in ID_TYPES if id_type == text), None)


def switch_command(id_type: IdType) -> str:
    """The command that rebuilds every Outlook table in ``id_type``."""
    return f"{SETTING}={id_type} o365-pipeline sync --full-refresh --entities {','.join(OUTLOOK_TABLES)}"


def plan(
    pipeline: dlt.Pipeline, config: PipelineConfig, selected: Sequence[str], full_refresh: bool
) -> IdTypePlan | None:
    """The id type of a run that reads Outlook tables (None when it reads none), checked against the database.

    Raises:
        SettingError: naming ``O365_OUTLOOK_ID_TYPE`` and the full-refresh command, when the setting contradicts
            the stored type or an earlier switch did not finish, and this run is not a full refresh of every
            Outlook table.
    """
    chosen = {entity.name for entity in select_entities(tuple(selected)) if entity.outlook}
    if not chosen:
        return None
    stored, pending, marked = _read_marker(pipeline)
    wanted = config.outlook_id_type
    rebuilds_all = full_refresh and set(OUTLOOK_TABLES) <= chosen
    if pending is not None:
        target = wanted or pending
        if not rebuilds_all:
            raise SettingError(
                SETTING,
                f"the switch of the Outlook tables to {pending} ids did not finish; run it again: "
                f"`{switch_command(target)}`",
            )
        return IdTypePlan(target, stored, switching=True)
    id_type = wanted or stored or IMMUTABLE
    if stored is None or id_type == stored:
        return IdTypePlan(id_type, stored, marked=marked)
    if not rebuilds_all:
        raise SettingError(
            SETTING,
            f"{id_type} contradicts the {stored} ids the Outlook tables of {pipeline.dataset_name} hold (one table "
            f"never mixes both): switch with `{switch_command(id_type)}` (rebuilds them), or set {SETTING}={stored}",
        )
    return IdTypePlan(id_type, stored, switching=True, marked=marked)


def begin(pipeline: dlt.Pipeline, run_plan: IdTypePlan | None) -> None:
    """Before the run loads anything: the database's type (a new one: this run's; one synced before the marker:
    regular), or a switch under way."""
    if run_plan is None:
        return
    if run_plan.switching:
        log.warning(
            "%s: rebuilding the Outlook tables with %s ids (they held %s ids)",
            SETTING,
            run_plan.id_type,
            run_plan.stored,
        )
        _write_marker(pipeline, run_plan.stored or run_plan.id_type, pending=run_plan.id_type)
    elif not run_plan.marked:
        _write_marker(pipeline, run_plan.id_type, pending=None)


def finish(pipeline: dlt.Pipeline, run_plan: IdTypePlan | None) -> None:
    """After the run loaded: a switch is done, the tables hold its type."""
    if run_plan is not None and run_plan.switching:
        _write_marker(pipeline, run_plan.id_type, pending=None)


def stored_id_type(pipeline: dlt.Pipeline) -> IdType | None:
    """The id type the dataset's Outlook tables hold (None: no Outlook table yet)."""
    return _read_marker(pipeline)[0]


def _read_marker(pipeline: dlt.Pipeline) -> tuple[IdType | None, IdType | None, bool]:
    """(id type, pending switch, whether the marker row exists) of the dataset. Without a marker, Outlook tables
    holding rows were synced before ids had a type: regular ids."""
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return None, None, False
        present = _tables(client, pipeline.dataset_name)
        if MARKER_TABLE in present:
            rows = client.execute_sql(f"select id_type, pending from {client.make_qualified_table_name(MARKER_TABLE)}")
            if rows:
                id_type, pending = rows[0]
                return parse_id_type(id_type), parse_id_type(pending), True
        for table in OUTLOOK_TABLES:
            if table in present and client.execute_sql(
                f"select 1 from {client.make_qualified_table_name(table)} limit 1"
            ):
                return REGULAR, None, False
    return None, None, False


def _write_marker(pipeline: dlt.Pipeline, id_type: IdType, pending: IdType | None) -> None:
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(MARKER_TABLE)
        with _schema_change(pipeline, client):  # shard runs on Postgres create the dataset one at a time
            if not client.has_dataset():
                client.create_dataset()
            client.execute_sql(
                f"create table if not exists {name} (id_type varchar(16) not null, pending varchar(16), "
                "changed_at timestamp not null)"
            )
        client.execute_sql(f"delete from {name}")
        client.execute_sql(
            f"insert into {name} (id_type, pending, changed_at) values (%s, %s, current_timestamp)", id_type, pending
        )


@contextmanager
def _schema_change(pipeline: dlt.Pipeline, client: Any) -> Iterator[None]:
    """Hold the Postgres schema lock the destination's own schema changes hold (:mod:`.destinations`)."""
    if not str(pipeline.destination.destination_type).endswith("postgres"):
        yield
        return
    client.execute_sql("select pg_advisory_lock(%s)", SCHEMA_LOCK)
    try:
        yield
    finally:
        client.execute_sql("select pg_advisory_unlock(%s)", SCHEMA_LOCK)


def _tables(client: Any, dataset: str) -> set[str]:
    rows = client.execute_sql("select table_name from information_schema.tables where table_schema = %s", dataset)
    return {row[0] for row in rows or []}
