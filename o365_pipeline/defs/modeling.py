"""dbt models as Dagster assets (dagster-dbt); dbt tests become asset checks."""

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ..config import PipelineConfig, SettingError
from ..project import dbt_project, ensure_manifest
from .cadence import MODEL_FRESHNESS
from .ingestion import DUCKDB_POOL

OWNERS = ["team:data-platform"]
AS_OF = "O365_AS_OF"


def dbt_vars(environ: Mapping[str, str] | None = None) -> list[str]:
    """``--vars`` for dbt: ``as_of`` from ``O365_AS_OF`` (the moment the marts measure recency from, UTC; the
    demo sets the emulated tenant's own "now"), none when unset (dbt then measures from the current time).

    Raises:
        SettingError: naming ``O365_AS_OF`` when it is not an ISO date or timestamp.
    """
    value = (os.environ if environ is None else environ).get(AS_OF, "").strip()
    if not value:
        return []
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SettingError(AS_OF, f"{value!r} is not an ISO date or timestamp (e.g. 2026-11-01T00:00:00Z)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return ["--vars", json.dumps({"as_of": moment.isoformat(sep=" ")})]


def is_model(dbt_resource_props: Mapping[str, Any]) -> bool:
    """True for dbt models (not sources, tests or seeds)."""
    return dbt_resource_props.get("resource_type") == "model"


class O365DbtTranslator(DagsterDbtTranslator):
    """Groups models by their folder (staging, marts); sources keep the dlt asset keys from their meta.

    Models are eager: declarative automation rebuilds them once their raw tables were synced, so they are as
    fresh as the hourly workloads.
    """

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not is_model(self.get_resource_props(manifest, unique_id)):
            return spec
        return spec.replace_attributes(freshness_policy=MODEL_FRESHNESS)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if is_model(dbt_resource_props) and len(fqn) > 2 else None

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return dg.AutomationCondition.eager() if is_model(dbt_resource_props) else None

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        return OWNERS if is_model(dbt_resource_props) else None


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=O365DbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=DUCKDB_POOL,
)
def o365_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Build the staging views and marts (and run their tests) on the raw tables."""
    settings = PipelineConfig.from_env()
    # dbt runs in dbt_project/: hand it the same absolute DuckDB file and raw schema the sync wrote.
    os.environ["O365_DUCKDB_PATH"] = str(settings.duckdb_path)
    os.environ["O365_DATASET"] = settings.dataset
    # A subset run (one workload's models) must not run tests that reach models outside the subset.
    yield from dbt.cli(["build", "--indirect-selection", "cautious", *dbt_vars()], context=context).stream()
