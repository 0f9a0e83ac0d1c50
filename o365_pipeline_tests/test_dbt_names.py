"""dbt names that become PostgreSQL relations fit its 63-character identifier limit (the postgres target)."""

from __future__ import annotations

from pathlib import Path

import yaml

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
POSTGRES_IDENTIFIER_LIMIT = 63


def test_models_and_unit_tests_fit_postgres_identifiers() -> None:
    # dbt builds a unit test's fixture as a relation named after the test; DuckDB takes any length, Postgres
    # refuses the build ("Relation name ... is longer than 63 characters").
    names = [path.stem for path in MODELS.rglob("*.sql")]
    for path in MODELS.rglob("*.yml"):
        document = yaml.safe_load(path.read_text()) or {}
        names += [test["name"] for test in document.get("unit_tests", [])]
    assert len(names) > 50
    too_long = [name for name in names if len(name) > POSTGRES_IDENTIFIER_LIMIT]
    assert not too_long, f"longer than {POSTGRES_IDENTIFIER_LIMIT} characters: {too_long}"
