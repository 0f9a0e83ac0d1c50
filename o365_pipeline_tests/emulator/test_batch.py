"""JSON batching: limits, duplicate ids, dependsOn/424, per-request status and headers."""

from __future__ import annotations

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import tls


def _batch(c: httpx.Client, reqs: list[dict]) -> httpx.Response:
    return c.post("/v1.0/$batch", json={"requests": reqs})


def test_batch_answers_each_request(client: httpx.Client) -> None:
    r = _batch(
        client,
        [
            {"id": "1", "method": "GET", "url": "/users?$top=2&$select=id"},
            {"id": "2", "method": "GET", "url": "organization"},
            {"id": "3", "method": "GET", "url": "/users?$top=1000"},
            {"id": "4", "method": "GET", "url": "/users?$top=1", "dependsOn": ["3"]},
            {"id": "5", "method": "GET", "url": "/users/delta", "dependsOn": ["1"]},
        ],
    )
    assert r.status_code == 200
    by_id = {a["id"]: a for a in r.json()["responses"]}
    assert by_id["1"]["status"] == 200 and len(by_id["1"]["body"]["value"]) == 2
    assert by_id["2"]["body"]["value"][0]["id"]
    assert by_id["3"]["status"] == 400 and by_id["3"]["body"]["error"]["code"] == "Request_UnsupportedQuery"
    assert by_id["4"]["status"] == 424
    assert by_id["5"]["status"] == 200
    assert all("headers" in a for a in by_id.values())


def test_batch_limits(client: httpx.Client) -> None:
    too_many = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(21)]
    assert _batch(client, too_many).status_code == 400
    assert _batch(client, too_many[:20]).status_code == 200
    dup = [{"id": "1", "method": "GET", "url": "/organization"}] * 2
    r = _batch(client, dup)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_batch_needs_token(server: EmulatorServer) -> None:
    r = httpx.post(
        f"{server.base_url}/v1.0/$batch",
        json={"requests": [{"id": "1", "method": "GET", "url": "/organization"}]},
        verify=tls(server),
    )
    assert r.status_code == 401


def test_inner_throttling_carries_its_own_retry_after() -> None:
    from .conftest import graph_client

    with EmulatorServer(throttle=True) as s, graph_client(s) as c:
        s.emu.throttle.config.outlook_requests = 5
        uid = c.get("/v1.0/users?$top=1").json()["value"][0]["id"]
        reqs = [
            {"id": str(i), "method": "GET", "url": f"/users/{uid}/mailFolders/inbox/messages?$top=1"} for i in range(12)
        ]
        answers = c.post("/v1.0/$batch", json={"requests": reqs}).json()["responses"]
        statuses = sorted(a["status"] for a in answers)
        assert statuses.count(200) == 5 and statuses.count(429) == 7
        assert all(float(a["headers"]["Retry-After"]) > 0 for a in answers if a["status"] == 429)


def test_inner_bodies_equal_the_direct_answers(client: httpx.Client) -> None:
    uid = client.get("/v1.0/users?$top=1").json()["value"][0]["id"]
    urls = [
        "/users?$top=3&$select=id,displayName",
        f"/users/{uid}/mailFolders/inbox/messages?$top=5",
        f"/users/{uid}/mailFolders/inbox/messages/delta?$select=subject,isRead",
        "/groups?$top=2",
    ]
    reqs = [{"id": str(i), "method": "GET", "url": u} for i, u in enumerate(urls)]
    reqs.append({"id": "count", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}})
    reqs.append({"id": "missing", "method": "GET", "url": f"/users/{uid}/mailFolders/nope"})
    by_id = {a["id"]: a for a in _batch(client, reqs).json()["responses"]}
    for i, u in enumerate(urls):
        direct = client.get("/v1.0" + u).json()
        inner = by_id[str(i)]
        assert inner["status"] == 200 and inner["headers"]["Content-Type"] == "application/json"
        if "delta" in u:  # tokens are signed per call: compare the items
            assert inner["body"]["value"] == direct["value"]
        else:
            assert inner["body"] == direct
    count = client.get("/v1.0/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert by_id["count"]["body"] == int(count.text) and by_id["count"]["headers"]["Content-Type"] == "text/plain"
    assert by_id["missing"]["status"] == 404 and by_id["missing"]["body"]["error"]["code"] == "ErrorItemNotFound"
