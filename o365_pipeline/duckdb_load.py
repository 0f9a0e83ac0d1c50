"""dlt's DuckDB destination, loading in bounded memory however large the tenant.

dlt merges a table by deleting the staged keys from it and inserting the staged rows, each key's last copy
kept by a window (``ROW_NUMBER() OVER (PARTITION BY key ORDER BY sync_seq DESC)``). That window holds every
column of every staged row: a first sync of a 5,000-mailbox tenant (1 M messages) needed ~1.5 GB, and failed
under ``O365_DUCKDB_MEMORY_LIMIT`` (128MB) or spilled for 43 s. Every raw table stamps each row of a run with
its own ``sync_seq`` (unique within the run), so the last copy of a key is the row whose ``sync_seq`` is the
key's largest: a grouped aggregate over the key and that number (which spills) and a semi-join on one bigint
pick the same rows with ~128MB, as fast as a plain insert (1 M messages: 18 s at 128MB, the window 43 s).
Insertion order is not kept either (a table has no order; keeping it makes DuckDB buffer inserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.destination.client import FollowupJobRequest
from dlt.common.schema.typing import TSortOrder
from dlt.destinations import duckdb
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

LOAD_SETTINGS = {"preserve_insertion_order": False}  # DuckDB settings of the loading connection


class LastCopyMergeJob(SqlMergeFollowupJob):
    """dlt's merge, with each key's last copy chosen by its largest (or smallest) ``dedup_sort`` value."""

    @classmethod
    def gen_select_from_dedup_sql(
        cls,
        table_name: str,
        primary_keys: Sequence[str],
        columns: Sequence[str],
        dedup_sort: tuple[str, TSortOrder] | None = None,
        condition: str | None = None,
        condition_columns: Sequence[str] | None = None,
        skip_dedup: bool = False,
    ) -> str:
        """``SELECT columns FROM table_name`` keeping each key's row with the last ``dedup_sort`` value (a unique
        number per staged row); dlt's own window where no such column is declared."""
        if skip_dedup or dedup_sort is None or not primary_keys:
            return super().gen_select_from_dedup_sql(
                table_name, primary_keys, columns, dedup_sort, condition, condition_columns, skip_dedup
            )
        column, order = dedup_sort
        last = "max" if order == "desc" else "min"
        keys = ", ".join(primary_keys)
        return (
            f"SELECT {', '.join(columns)} FROM {table_name} WHERE {column} IN "
            f"(SELECT {last}({column}) FROM {table_name} GROUP BY {keys}) AND ({condition or '1 = 1'})"
        )


class LastCopyDuckDbClient(DuckDbClient):
    """dlt's DuckDB client merging with :class:`LastCopyMergeJob`."""

    def _create_merge_followup_jobs(self, table_chain: Sequence[Any]) -> list[FollowupJobRequest]:
        return [LastCopyMergeJob.from_table_chain(table_chain, self.sql_client)]


class bounded_duckdb(duckdb):  # noqa: N801 (dlt names destination factories in lower case)
    """dlt's ``duckdb`` destination (same type and name in the pipeline state) with the bounded merge."""

    @property
    def destination_type(self) -> str:
        """dlt's own DuckDB type: pipelines made before keep their state as it is."""
        return "dlt.destinations.duckdb"

    @property
    def client_class(self) -> type[DuckDbClient]:
        """The client merging with :class:`LastCopyMergeJob`."""
        return LastCopyDuckDbClient
