"""The stdlib keep-alive transport against the real emulator: answers, reuse, a closed connection, no answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import orjson
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.client import make_ssl_context
from o365_pipeline.graph.transport import ConnectionPool, TransportError, query_string
from o365_pipeline.sync import make_client


@pytest.fixture
def pool(o365_env: dict[str, str]) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(
        make_ssl_context(o365_env["O365_CA_BUNDLE"]), timeout=30, headers={"Accept": "application/json"}
    )
    yield pool
    pool.close()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {O365Auth.from_env().get_token()}"}


def test_query_strings_keep_odata_readable() -> None:
    assert query_string({"$select": "id,subject", "$filter": "a ge 2026-01-01T00:00:00Z"}) == (
        "$select=id,subject&$filter=a%20ge%202026-01-01T00:00:00Z"
    )


def test_answers_come_back_whole_on_one_kept_alive_connection(pool: ConnectionPool, emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/v1.0/users"
    first = pool.request("GET", url, params={"$top": "3", "$select": "id"}, headers=bearer())
    second = pool.request("GET", url + "?$top=2&$select=id", headers=bearer())
    assert first.status_code == second.status_code == 200
    assert len(orjson.loads(first.content)["value"]) == 3 and len(orjson.loads(second.content)["value"]) == 2
    assert first.headers.get("content-type", "").startswith("application/json")
    assert sum(len(idle) for idle in pool._idle.values()) == 1  # the same connection served both


def test_a_connection_closed_while_idle_is_replaced(pool: ConnectionPool, emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/v1.0/users?$top=1&$select=id"
    assert pool.request("GET", url, headers=bearer()).status_code == 200
    for idle in pool._idle.values():
        for connection in idle:
            assert connection.sock is not None
            connection.sock.shutdown(socket.SHUT_RDWR)  # as a server timing out idle connections does
    assert pool.request("GET", url, headers=bearer()).status_code == 200


def test_post_sends_json(pool: ConnectionPool, emulator: EmulatorServer) -> None:
    body = {"requests": [{"id": "1", "method": "GET", "url": "/users?$top=1&$select=id"}]}
    answer = pool.request("POST", f"{emulator.base_url}/v1.0/$batch", headers=bearer(), json=body)
    assert answer.status_code == 200
    assert orjson.loads(answer.content)["responses"][0]["status"] == 200


def test_no_answer_is_a_transport_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    pool = ConnectionPool(True, timeout=5, headers={})
    with pytest.raises(TransportError):
        pool.request("GET", f"https://127.0.0.1:{port}/v1.0/users")


def test_the_client_uses_it_unless_a_proxy_is_set(o365_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with make_client(O365Auth.from_env()) as client:
        assert isinstance(client._http, ConnectionPool)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with make_client(O365Auth.from_env()) as client:
        assert not isinstance(client._http, ConnectionPool)
