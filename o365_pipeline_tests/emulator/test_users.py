"""Users: paging, $top limits, $select, $count, delta rounds, truth."""

from __future__ import annotations

import hashlib

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, graph_client, mutate, truth


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def test_paging_matches_truth(server: EmulatorServer, client: httpx.Client) -> None:
    items, pages = all_pages(client, "/v1.0/users?$top=3&$select=id,displayName")
    t = truth(server)["users"]
    assert pages > 1
    assert len(items) == t["count"] == 20
    assert _digest([u["id"] for u in items]) == t["ids_sha256"]
    assert all(set(u) == {"id", "displayName"} for u in items)


def test_top_limits_and_unknown_select(client: httpx.Client) -> None:
    assert client.get("/v1.0/users?$top=999").status_code == 200
    r = client.get("/v1.0/users?$top=1000")
    assert r.status_code == 400 and r.json()["error"]["code"] == "Request_UnsupportedQuery"
    r = client.get("/v1.0/users?$select=id,noSuchProperty")
    assert r.status_code == 400


def test_count_needs_consistency_level(client: httpx.Client) -> None:
    assert "@odata.count" not in client.get("/v1.0/users?$count=true&$top=5").json()
    body = client.get("/v1.0/users?$count=true&$top=5", headers={"ConsistencyLevel": "eventual"}).json()
    assert body["@odata.count"] == 20
    page2 = client.get(body["@odata.nextLink"], headers={"ConsistencyLevel": "eventual"}).json()
    assert "@odata.count" not in page2


def test_user_by_id_and_upn(client: httpx.Client) -> None:
    users, _ = all_pages(client, "/v1.0/users?$select=id,userPrincipalName,userType")
    guest = next(u for u in users if u["userType"] == "Guest")
    assert "#EXT#" in guest["userPrincipalName"]
    quoted = guest["userPrincipalName"].replace("#", "%23")
    assert client.get(f"/v1.0/users/{quoted}").json()["id"] == guest["id"]
    assert client.get(f"/v1.0/users/{guest['id']}").json()["id"] == guest["id"]
    r = client.get("/v1.0/users/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "Request_ResourceNotFound"


def test_delta_rounds_report_exactly_the_changes(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        items, link = delta_round(c, "/v1.0/users/delta()?$select=id,displayName,jobTitle")
        assert len(items) == 20
        assert all(set(u) <= {"id", "displayName", "jobTitle"} for u in items)
        same, link = delta_round(c, link)
        assert same == []
        res = mutate(
            fresh,
            [
                {"entity": "users", "op": "update", "count": 1},
                {"entity": "users", "op": "delete", "count": 1},
                {"entity": "users", "op": "create", "count": 2},
            ],
        )
        changed = {i for ch in res["changes"] for i in ch["ids"]}
        items, link = delta_round(c, link)
        assert {u["id"] for u in items} == changed
        removed = [u for u in items if "@removed" in u]
        assert len(removed) == 1 and removed[0]["@removed"]["reason"] == "changed"
        again, _ = delta_round(c, link)
        assert again == []
        assert truth(fresh)["users"]["count"] == 21


def test_delta_latest_and_bad_token(server: EmulatorServer, client: httpx.Client) -> None:
    body = client.get("/v1.0/users/delta?$deltatoken=latest").json()
    assert body["value"] == [] and "@odata.deltaLink" in body
    assert client.get(body["@odata.deltaLink"]).json()["value"] == []
    r = client.get("/v1.0/users/delta?$deltatoken=garbage")
    assert r.status_code == 400 and r.json()["error"]["code"] == "syncStateNotFound"


def test_changes_during_a_round_lose_nothing(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        first = c.get("/v1.0/users/delta?$select=id").json()
        assert first["value"] == [] and "@odata.nextLink" in first  # an empty page may carry a nextLink
        first = c.get(first["@odata.nextLink"]).json()
        assert first["value"] and "@odata.nextLink" in first
        seen = {u["id"]: u for u in first["value"]}
        mutate(
            fresh, [{"entity": "users", "op": "delete", "count": 3}, {"entity": "users", "op": "create", "count": 1}]
        )
        items, link = delta_round(c, first["@odata.nextLink"])
        for u in items:
            seen[u["id"]] = u
        items, _ = delta_round(c, link)
        for u in items:
            seen[u["id"]] = u
        live = sorted(i for i, u in seen.items() if "@removed" not in u)
        assert len(live) == truth(fresh)["users"]["count"]
        assert _digest(live) == truth(fresh)["users"]["ids_sha256"]


def test_count_segment(client: httpx.Client) -> None:
    assert client.get("/v1.0/users/$count").status_code == 400
    r = client.get("/v1.0/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert r.status_code == 200 and r.text == "20"
