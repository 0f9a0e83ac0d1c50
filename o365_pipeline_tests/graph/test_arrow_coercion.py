"""The Arrow path stores what dlt's own normalizer stores for the same rows: values that convert without loss
are coerced by dlt's rules (text "true" into a bool, numeric text into a number, ISO text or epoch seconds into a
timestamp); a value that does not convert is what dlt would put in a variant column: a schema change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from o365_pipeline.graph.arrow_rows import ArrowLayout, TypeMismatch

FIELDS: dict[str, Any] = {"id": "text", "flag": "bool", "size": "bigint", "ratio": "double", "at": "timestamp"}
FIELDS["label"] = "text"

CONVERTIBLE: dict[str, list[Any]] = {
    "flag": ["true", "false", "True", "1", "0", "yes", "n", True, 0, 2.0],
    "size": ["42", " 7 ", "0x1f", 3.0, 5],
    "ratio": ["1.5", "2", 3, "1e3", 0.25],
    "at": [
        "2024-01-05T10:00:00Z",
        "2024-01-05T10:00:00.1234567",
        "2024-01-05T10:00:00+02:00",
        "2024-01-05",
        "0001-01-01T00:00:00Z",
        1704448800,
        1.5,
    ],
    "label": [1, 2.5, True, "text"],
}
NOT_CONVERTIBLE: list[tuple[str, Any, str]] = [  # column, value, the variant dlt makes of it
    ("flag", "maybe", "text"),
    ("size", "4.5", "text"),
    ("size", 2.5, "double"),
    ("size", True, "bool"),
    ("ratio", True, "bool"),
    ("ratio", "many", "text"),
    ("at", "", "text"),
    ("at", "soon", "text"),
    ("at", True, "bool"),
]


def rows_by_dlt(rows: list[dict[str, Any]], folder: Path) -> dict[str, dict[str, Any]]:
    """The rows as dlt's normalizer loads them into typed columns (variants allowed), read back by id."""
    pipeline = dlt.pipeline(
        "coercion",
        destination=dlt.destinations.duckdb(str(folder / "dlt.duckdb")),
        dataset_name="probe",
        pipelines_dir=str(folder / "pipelines"),
    )
    hints = {name: {"data_type": kind} for name, kind in FIELDS.items()}
    pipeline.run(rows, table_name="items", columns=hints, loader_file_format="parquet")
    with duckdb.connect(str(folder / "dlt.duckdb"), read_only=True) as con:
        cursor = con.execute("select * from probe.items")
        names = [column[0] for column in cursor.description]
        return {row[names.index("id")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_values_that_convert_are_stored_as_dlt_stores_them(tmp_path: Path) -> None:
    rows = [
        {"id": f"{column}{i}", column: value}
        for column, values in CONVERTIBLE.items()
        for i, value in enumerate(values)
    ]
    ours = {row["id"]: row for row in ArrowLayout("probe", FIELDS).table(rows, 0).to_pylist()}
    theirs = rows_by_dlt(rows, tmp_path)
    for row in rows:
        column = next(name for name in row if name != "id")
        assert ours[row["id"]][column] == theirs[row["id"]][column], (column, row[column])
        assert ours[row["id"]][column] is not None


def test_a_value_dlt_would_put_in_a_variant_column_is_a_schema_change(tmp_path: Path) -> None:
    rows = [{"id": f"v{i}", column: value} for i, (column, value, _) in enumerate(NOT_CONVERTIBLE)]
    theirs = rows_by_dlt(rows, tmp_path)
    layout = ArrowLayout("probe", FIELDS)
    for row, (column, value, variant) in zip(rows, NOT_CONVERTIBLE, strict=True):
        stored = theirs[row["id"]]
        assert stored[column] is None and stored[f"{column}__v_{variant}"] == value, (column, value)
        with pytest.raises(TypeMismatch) as raised:  # before: 2.5 stored as 2, True as 1.0, "" and True as null
            layout.table([row], 0)
        assert (raised.value.column, raised.value.stored, raised.value.sent) == (column, FIELDS[column], variant)
