"""CData's "Create & Test" in Dagster: get a token and probe every entity, as `o365-pipeline test-connection`."""

import dagster as dg

from ..auth import O365Auth
from ..auth.connection_check import Probe, run_connection_check
from ..config import PipelineConfig
from ..graph.entities import select_entities

GRAPH_POOL = "graph"  # Graph-only work (no DuckDB): its own pool, so it never waits for a sync holding "duckdb"


@dg.op(description="Get a token with the configured scheme and probe each entity's Graph path once.", pool=GRAPH_POOL)
def check_graph_connection(context: dg.OpExecutionContext, o365: O365Auth) -> dg.Output[int]:
    """Log one line per entity (readable, missing permission, mailbox not enabled); fail without a token."""
    lines: list[str] = []
    probes = [Probe(e.name, e.probe, e.permission) for e in select_entities(PipelineConfig.from_env().entities)]
    status = run_connection_check(o365, probes, out=lines.append)
    for line in lines:
        context.log.info(line)
    if status != 0:
        raise dg.Failure(description=lines[-1] if lines else "connection check failed")
    readable = sum(1 for line in lines if line.endswith(": readable"))
    return dg.Output(
        readable, metadata={"readable_entities": readable, "entities": len(probes), "report": "\n".join(lines)}
    )


@dg.job(description="Create & Test: token plus one cheap probe per entity; the log says what is readable.")
def create_and_test() -> None:
    """Run the connection check."""
    check_graph_connection()
