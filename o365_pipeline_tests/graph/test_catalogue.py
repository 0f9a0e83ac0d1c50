"""The entity catalogue (graph/entities.py) is the one place that knows an entity: no other module tells entities
apart by their name or reader string, and what is generated per entity or workload follows the catalogue."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

import o365_pipeline
from o365_pipeline.definitions import defs
from o365_pipeline.defs.automation import WORKLOADS, build_schedules
from o365_pipeline.defs.cadence import DEFAULT_CRONS
from o365_pipeline.graph.entities import ENTITIES

PACKAGE = Path(o365_pipeline.__file__).parent
CATALOGUE = PACKAGE / "graph" / "entities.py"
NAMES = set(ENTITIES) | {entity.reader for entity in ENTITIES.values()}


def _literals(node: ast.expr) -> set[str]:
    """The string constants of an expression: a constant, or a tuple/list/set of them."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return {item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)}


def _is_name_or_reader(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in ("name", "reader")


def _offences(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Attribute) and o.attr == "reader" for o in operands):
                yield node.lineno, "compares a reader (a reader string only picks the function in READERS)"
            elif any(_is_name_or_reader(o) for o in operands):
                named = set().union(*(_literals(o) for o in operands)) & NAMES
                if named:
                    yield node.lineno, f"compares a name/reader with {sorted(named)}"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "ENTITIES":
            named = _literals(node.slice) & NAMES
            if named:
                yield node.lineno, f"looks up ENTITIES[{sorted(named)[0]!r}]"


def test_no_module_outside_the_catalogue_tells_entities_apart_by_name_or_reader() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CATALOGUE
        for line, what in _offences(ast.parse(path.read_text(), str(path)))
    ]
    assert not found, "add a field to Entity instead:\n" + "\n".join(found)


def test_the_name_test_finds_what_it_looks_for() -> None:
    code = (
        'if entity.reader in ("list", "x"): pass\nparent = ENTITIES["messages"]\nok = column.name != "id"\n'
        'mine = e.name == "sign_ins"\nkeys = e.reader in PER_USER_READERS\nchild = e.parent == entity.name\n'
    )
    assert [line for line, _ in _offences(ast.parse(code))] == [1, 2, 4, 5]


def test_every_workload_of_the_catalogue_has_its_default_cron_and_one_schedule() -> None:
    assert set(DEFAULT_CRONS) == set(WORKLOADS)
    schedules = build_schedules({})
    assert sorted(s.name for s in schedules) == sorted(f"sync_{w}_schedule" for w in WORKLOADS)


@pytest.mark.parametrize("partitioned", [False, True])
def test_every_raw_table_is_synced_by_exactly_one_schedule_of_its_workload(partitioned: bool) -> None:
    # A row added to the catalogue is scheduled on its workload's cron without touching the schedules.
    graph = defs.resolve_asset_graph()
    synced: dict[str, list[str]] = {}
    for schedule in build_schedules({}, partitioned=partitioned):
        job = schedule.job
        assert isinstance(job, UnresolvedAssetJobDefinition)
        for key in job.selection.resolve(graph):
            synced.setdefault(key.path[-1], []).append(schedule.name)
    assert set(synced) == set(ENTITIES)
    for name, entity in ENTITIES.items():
        assert len(synced[name]) == 1, (name, synced[name])
        assert synced[name][0].startswith(f"sync_{entity.workload}_"), (name, synced[name])


def _readme_rows() -> dict[str, list[str]]:
    """The raw-table table of the README's Data section: name -> [path, incremental, key, permission]."""
    text = (PACKAGE.parent / "README.md").read_text()
    table = text.split("\n| raw table |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| `")]
    return {cells[0].strip(" `"): [cell.strip(" `") for cell in cells[1:]] for cells in rows}


def test_the_readme_lists_every_raw_table_as_the_catalogue_reads_it() -> None:
    incremental = {"delta": "delta", "replace": "replace", "snapshot": "report snapshot"}
    expected = {
        name: [
            entity.path,
            incremental.get(entity.strategy) or f"date cursor (`{entity.cursor}`)",
            ", ".join(entity.key_columns),
            entity.permission,
        ]
        for name, entity in ENTITIES.items()
    }
    assert _readme_rows() == expected
