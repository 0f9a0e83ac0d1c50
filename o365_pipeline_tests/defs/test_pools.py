"""Concurrency pools: dagster.yaml gives "duckdb" and "graph" their limits, and every step is in the right pool."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from o365_pipeline.definitions import build_defs
from o365_pipeline.defs.connection import GRAPH_POOL, create_and_test
from o365_pipeline.defs.ingestion import DUCKDB_POOL

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_yaml_limits_both_pools_to_one() -> None:
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"] == {"default_limit": 1}
    with dg.instance_for_test(overrides=config) as instance:  # an instance configured by the file
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        for pool in (DUCKDB_POOL, GRAPH_POOL):
            info = instance.event_log_storage.get_concurrency_info(pool)
            assert (info.limit, info.using_default_limit) == (1, True), pool


@pytest.mark.parametrize("partitioned", ["0", "1"])
def test_every_duckdb_writer_is_in_the_duckdb_pool(partitioned: str) -> None:
    defs = build_defs({"O365_PARTITION_BY_MAILBOX": partitioned})
    graph = defs.resolve_asset_graph()
    writers = []
    for assets_def in graph.assets_defs:
        if not assets_def.is_executable:
            continue
        pools = {node.pool for node in assets_def.node_def.iterate_op_defs()}
        if any(key.path[0] in ("o365_raw", "staging", "marts") for key in assets_def.keys):
            assert pools == {DUCKDB_POOL}, assets_def.node_def.name
            writers.append(assets_def.node_def.name)
    assert len(writers) == (3 if partitioned == "1" else 2)  # dlt (tenant, mailboxes) and dbt
    assert {op.pool for op in create_and_test.graph.iterate_op_defs()} == {GRAPH_POOL}
