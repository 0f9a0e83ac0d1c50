"""The one Dagster ``Definitions`` of o365-pipeline: ingestion, modeling, checks and automation merged."""

from collections.abc import Mapping

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from .auth import O365Auth
from .config import PipelineConfig
from .defs.automation import build_automation_defs
from .defs.checks import build_checks_defs
from .defs.connection import create_and_test
from .defs.ingestion import build_partitioned_raw_assets, o365_raw_tables
from .defs.modeling import o365_dbt_models
from .defs.partitions import partition_by_mailbox, shard_count
from .project import DBT_EXECUTABLE, dbt_project


def build_defs(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Everything, with the per-user raw tables partitioned by shard (``O365_MAILBOX_SHARDS``) or by mailbox
    (``O365_PARTITION_BY_MAILBOX``)."""
    shards = shard_count(environ)
    partitioned = shards > 0 or partition_by_mailbox(environ)
    destination = PipelineConfig.from_env(environ).destination
    raw = build_partitioned_raw_assets(shards, destination) if partitioned else [o365_raw_tables]
    return dg.Definitions.merge(
        dg.Definitions(
            assets=[*raw, o365_dbt_models],
            jobs=[create_and_test],
            # One process per run: DuckDB has one writer anyway, and a subprocess per step costs seconds of imports.
            executor=dg.in_process_executor,
            resources={
                "dlt": DagsterDltResource(),
                "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
                "o365": O365Auth.from_dagster_env(),
            },
        ),
        build_checks_defs(),
        build_automation_defs(environ),
    )


defs = build_defs()
