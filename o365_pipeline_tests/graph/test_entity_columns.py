"""Raw columns carry descriptions from the entity catalogue, the same in the Dagster UI and the dbt sources file."""

import re
from collections.abc import Mapping

import dagster as dg
import yaml

from o365_pipeline.definitions import defs
from o365_pipeline.defs.ingestion import COLUMN_SCHEMA, with_descriptions
from o365_pipeline.graph import entity_columns
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.graph.entity_columns import (
    PROPERTIES,
    SOURCES_FILE,
    column_descriptions,
    column_name,
    declared_columns,
    sources_yaml,
)

FILLER = {"the", "a", "an", "of", "it", "its", "is", "in", "or", "and", "to", "for", "as", "by", "on", "e", "g"}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def test_every_declared_column_is_described_by_more_than_its_name() -> None:
    said_nothing = []
    for entity in ENTITIES.values():
        for column, text in column_descriptions(entity).items():
            # "Middle name." for middle_name says nothing: two words beyond the name's own, at least.
            if len(words(text) - words(column.replace("_", " ")) - FILLER) < 2:
                said_nothing.append(f"{entity.name}.{column}: {text}")
    assert not said_nothing, said_nothing


def test_a_row_describes_only_columns_it_stores_and_says_something_new() -> None:
    # A description keyed by a property the row does not store (a typo, a renamed column) would be silently unused.
    for entity in ENTITIES.values():
        stored = declared_columns(entity)
        for path, text in entity.descriptions.items():
            assert path in stored, f"{entity.name}.descriptions[{path!r}]: not a column of the row"
            assert text != PROPERTIES.get(path), f"{entity.name}.descriptions[{path!r}]: repeats PROPERTIES"
        described = column_descriptions(entity)
        for path, text in entity.descriptions.items():
            assert described[column_name(path)] == text, (entity.name, path)


def test_per_entity_descriptions_live_in_the_catalogue_row_only() -> None:
    # The row is the one description of an entity: a table of per-entity descriptions kept beside it (as
    # ENTITY_PROPERTIES was) would be silently ignored.
    tables = [
        name
        for name, value in vars(entity_columns).items()
        if isinstance(value, Mapping) and value and value is not ENTITIES and set(value) <= set(ENTITIES)
    ]
    assert not tables, f"move these into the rows' descriptions (graph/entities.py): {tables}"


def test_the_dbt_sources_file_is_written_from_the_catalogue() -> None:
    assert SOURCES_FILE.read_text() == sources_yaml(), "run: python -m o365_pipeline.graph.entity_columns"
    tables = {table["name"]: table for table in yaml.safe_load(SOURCES_FILE.read_text())["sources"][0]["tables"]}
    assert set(tables) == set(ENTITIES)
    for name, entity in ENTITIES.items():
        described = {column["name"]: column["description"] for column in tables[name]["columns"]}
        assert described == column_descriptions(entity), name


def test_the_raw_assets_show_the_same_descriptions_in_dagster() -> None:
    graph = defs.resolve_asset_graph()
    for name, entity in ENTITIES.items():
        schema = graph.get(dg.AssetKey(["o365_raw", name])).metadata[COLUMN_SCHEMA].value
        assert {column.name: column.description for column in schema.columns} == column_descriptions(entity), name


def test_a_materialization_column_schema_gets_the_descriptions() -> None:
    # What dagster-dlt reports after a load: the stored columns, without descriptions.
    stored = dg.TableSchema(
        columns=[dg.TableColumn("id", "text"), dg.TableColumn("subject", "text"), dg.TableColumn("inferred", "text")]
    )
    metadata = with_descriptions("messages", {COLUMN_SCHEMA: dg.MetadataValue.table_schema(stored), "rows": 3})
    columns = {column.name: column.description for column in metadata[COLUMN_SCHEMA].columns}
    assert columns == {
        "id": column_descriptions(ENTITIES["messages"])["id"],
        "subject": column_descriptions(ENTITIES["messages"])["subject"],
        "inferred": None,  # a column dlt inferred that the catalogue does not declare
    }
    assert metadata["rows"] == 3
