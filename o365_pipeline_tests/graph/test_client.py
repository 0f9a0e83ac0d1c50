"""The Graph client against the real emulator: paging, delta rounds, token refresh, errors."""

from __future__ import annotations

import threading
import time

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.client import GraphClient
from o365_pipeline.graph.errors import Cancelled, GraphError
from o365_pipeline.sync import make_client
from o365_pipeline_tests.conftest import ids_digest, truth


@pytest.fixture
def client(o365_env: dict[str, str]) -> GraphClient:
    with make_client(O365Auth.from_env()) as graph:
        yield graph


def test_pages_follow_next_links_to_every_user(client: GraphClient, emulator: EmulatorServer) -> None:
    pages = list(client.iter_pages("users", params={"$top": "5", "$select": "id,displayName"}))
    ids = [user["id"] for page in pages for user in page["value"]]
    expected = truth(emulator)["users"]
    assert len(pages) > 1
    assert client.stats.pages == len(pages) == client.stats.requests  # every page counted once
    assert len(ids) == expected["count"]
    assert ids_digest(ids) == expected["ids_sha256"]
    assert all(set(user) <= {"id", "displayName", "@odata.type"} for page in pages for user in page["value"])


def test_a_delta_round_ends_with_a_delta_link_and_the_next_round_is_empty(client: GraphClient) -> None:
    first = list(client.iter_delta("users/delta", params={"$select": "id,displayName", "$top": "7"}))
    assert first[-1].delta_link and all(page.delta_link is None for page in first[:-1])
    assert sum(len(page.items) for page in first) > 0
    second = list(client.iter_delta(first[-1].delta_link))
    assert [item for page in second for item in page.items] == []
    assert second[-1].delta_link


def test_a_rejected_token_is_refreshed_once(emulator: EmulatorServer, o365_env: dict[str, str]) -> None:
    auth = O365Auth.from_env()
    calls: list[bool] = []

    def tokens(force_refresh: bool) -> str:
        calls.append(force_refresh)
        return auth.get_token(force_refresh=True) if force_refresh else "not-a-token"

    with GraphClient(auth.endpoints().graph_root, tokens, auth.tls_verify()) as graph:
        assert graph.get("users", params={"$top": "1"})["value"]
    assert calls == [False, True]


def test_graph_errors_carry_the_code_and_no_query(client: GraphClient) -> None:
    with pytest.raises(GraphError) as caught:
        client.get("users", params={"$top": "1000"})
    assert caught.value.status == 400
    assert caught.value.code == "Request_UnsupportedQuery"
    assert "$top" not in str(caught.value) and caught.value.path == "/v1.0/users"


@pytest.mark.parametrize("answer", [{"status": 429, "headers": {"Retry-After": "60"}}, {"status": 503}])
def test_a_cancelled_client_stops_waiting_and_sends_nothing_more(
    client: GraphClient, emulator: EmulatorServer, answer: dict[str, object]
) -> None:
    body = {"error": {"code": "TooManyRequests" if answer["status"] == 429 else "serviceNotAvailable"}}
    emulator.emu.inject.set([{"path": "/organization", "body": body, **answer}])
    timer = threading.Timer(0.5, client.cancel)  # another entity failed the run meanwhile
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Cancelled):
            client.get("organization")  # throttled for 60 s, or backing off after a 503
    finally:
        timer.cancel()
        hits = emulator.emu.inject.describe()[0]["hits"]
        emulator.emu.inject.set([])
    assert time.monotonic() - started < 5 and hits >= 1  # before: 60 s of Retry-After, or 8 attempts of backoff
    sent = emulator.emu.stats.requests
    with pytest.raises(Cancelled):
        client.get("users")
    assert emulator.emu.stats.requests == sent  # nothing more reaches Graph
