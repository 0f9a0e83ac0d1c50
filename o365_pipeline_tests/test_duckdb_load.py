"""The DuckDB load (:mod:`o365_pipeline.duckdb_load`) keeps each key's last copy of a run, as dlt's own merge does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from o365_pipeline.duckdb_load import LOAD_SETTINGS, bounded_duckdb

MERGE: Any = {"disposition": "merge", "strategy": "delete-insert"}
HINTS = {
    "is_deleted": {"data_type": "bool", "hard_delete": True},
    "sync_seq": {"data_type": "bigint", "dedup_sort": "desc"},
}


def pipeline(tmp_path: Path, memory_limit: str = "128MB") -> dlt.Pipeline:
    credentials = DuckDbCredentials(
        str(tmp_path / "load.duckdb"), global_config={**LOAD_SETTINGS, "memory_limit": memory_limit}
    )
    return dlt.pipeline(
        pipeline_name="load_test",
        destination=bounded_duckdb(credentials),
        dataset_name="raw",
        pipelines_dir=str(tmp_path / "dlt"),
    )


def rows_of(tmp_path: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(tmp_path / "load.duckdb"), read_only=True) as con:
        return {(u, i): body for u, i, body in con.execute("select user_id, id, body from raw.items").fetchall()}


def test_each_keys_last_copy_wins_and_deletions_remove_it(tmp_path: Path) -> None:
    @dlt.resource(name="items", primary_key=("user_id", "id"), write_disposition=MERGE, columns=HINTS)
    def items(batch: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        yield batch

    def row(seq: int, user: str, item: str, body: str, deleted: bool = False) -> dict[str, Any]:
        return {"user_id": user, "id": item, "body": body, "is_deleted": deleted, "sync_seq": seq}

    first = [row(0, "u1", "a", "old"), row(1, "u2", "a", "other mailbox"), row(2, "u1", "a", "new")]
    first += [row(3, "u1", "b", "kept"), row(4, "u1", "c", "made"), row(5, "u1", "c", "gone", deleted=True)]
    pipeline(tmp_path).run(items(first)).raise_on_failed_jobs()
    assert rows_of(tmp_path) == {("u1", "a"): "new", ("u2", "a"): "other mailbox", ("u1", "b"): "kept"}

    # a later run's numbers start again at 0: only the order within one load matters
    second = [row(0, "u1", "b", "deleted", deleted=True), row(1, "u1", "b", "back"), row(2, "u2", "a", "x", True)]
    pipeline(tmp_path).run(items(second)).raise_on_failed_jobs()
    assert rows_of(tmp_path) == {("u1", "a"): "new", ("u1", "b"): "back"}
