"""$batch use against the real emulator: per-answer errors, and a no-change round costing one request per
20 stored streams."""

from __future__ import annotations

import contextlib
import math

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.errors import GraphError
from o365_pipeline.graph.link_state import load_links
from o365_pipeline.graph.source import SyncRun
from o365_pipeline.sync import make_client, make_pipeline, run_sync
from o365_pipeline_tests.conftest import admin, ids_digest, raw_ids, truth


def test_batch_answers_in_the_order_asked_with_an_error_per_failed_request(o365_env: dict[str, str]) -> None:
    with make_client(O365Auth.from_env()) as client:
        users = client.get("users", params={"$select": "id", "$top": "3"})["value"]
        urls = [(f"/users/{user['id']}?$select=id", None) for user in users] + [("/users/nobody-here", None)]
        before = client.stats.requests
        answers = client.batch(urls)
        assert client.stats.requests == before + 1
    assert [answer["id"] for answer in answers[:-1]] == [user["id"] for user in users]
    assert isinstance(answers[-1], GraphError) and answers[-1].status == 404


def watching(runs: list[SyncRun], run: SyncRun) -> contextlib.nullcontext[None]:
    """A ``run_sync`` watch that keeps the run."""
    runs.append(run)
    return contextlib.nullcontext()


def test_a_no_change_message_round_asks_for_twenty_stored_streams_per_request(
    emulator: EmulatorServer, o365_env: dict[str, str]
) -> None:
    auth, config = O365Auth.from_env(), PipelineConfig.from_env()
    first = run_sync(auth, config, entities=["messages"]).stats["messages"]
    links = load_links(make_pipeline(config).state["sources"]["o365"]["resources"]["messages"])
    assert first.rows > 0 and len(links) > first.requests  # new folder streams start in batches too
    admin(emulator, "POST", "stats/reset")
    runs: list[SyncRun] = []
    second = run_sync(auth, config, entities=["messages"], watch=lambda run: watching(runs, run)).stats["messages"]
    assert second.rows == 0
    # every stream's first page was asked while dlt restored its state, and taken by its reader
    assert runs[0].early is not None and runs[0].early.taken == len(links)
    # mailboxes that cannot be read are remembered: skipped again without a request
    assert second.skipped > 0 and second.requests == math.ceil(len(links) / 20)
    assert second.pages == len(links)  # one page per stream, each a $batch sub-response
    assert first.pages > first.requests  # first pages of the new streams came in batches too
    expected = truth(emulator)["messages"]
    bare, keyed = raw_ids("messages")
    assert len(keyed) == expected["count"] and expected["ids_sha256"] in (ids_digest(bare), ids_digest(keyed))
