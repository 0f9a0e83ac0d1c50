"""Groups: list, members paging, groups/delta with members@delta (split over pages), org and SKUs."""

from __future__ import annotations

import hashlib

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, graph_client, mutate, truth


def _members_from_delta(items: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for g in items:
        mem = out.setdefault(g["id"], set())
        for m in g.get("members@delta", []):
            if "@removed" in m:
                mem.discard(m["id"])
            else:
                mem.add(m["id"])
    return out


def test_groups_delta_members_match_truth(server: EmulatorServer, client: httpx.Client) -> None:
    items, _ = delta_round(client, "/v1.0/groups/delta?$select=displayName,members")
    ids = [g["id"] for g in items]
    assert len(ids) > len(set(ids)), "a big group should repeat over several entries"
    members = _members_from_delta(items)
    pairs = [f"{g}/{m}" for g, ms in members.items() for m in ms]
    t = truth(server)
    assert len(set(ids)) == t["groups"]["count"]
    assert len(pairs) == t["group_members"]["count"]
    assert hashlib.sha256("\n".join(sorted(pairs)).encode()).hexdigest() == t["group_members"]["ids_sha256"]
    types = {m["@odata.type"] for g in items for m in g.get("members@delta", [])}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}


def test_members_list_paging_equals_delta(client: httpx.Client) -> None:
    groups, _ = all_pages(client, "/v1.0/groups?$select=id,displayName")
    big = next(g for g in groups if g["displayName"] == "All Company")
    listed, pages = all_pages(client, f"/v1.0/groups/{big['id']}/members?$top=4&$select=id")
    assert pages > 1
    items, _ = delta_round(client, "/v1.0/groups/delta")
    assert {m["id"] for m in listed} == _members_from_delta(items)[big["id"]]
    guests = [m for m in all_pages(client, f"/v1.0/groups/{big['id']}/members")[0] if m.get("userType") == "Guest"]
    assert guests


def test_membership_changes_reach_groups_delta(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        items, link = delta_round(c, "/v1.0/groups/delta()")
        state = _members_from_delta(items)
        res = mutate(
            fresh,
            [
                {"entity": "group_members", "op": "create", "count": 2},
                {"entity": "group_members", "op": "delete", "count": 2},
            ],
            seed=5,
        )
        items, link = delta_round(c, link)
        for g in items:
            for m in g.get("members@delta", []):
                if "@removed" in m:
                    state[g["id"]].discard(m["id"])
                else:
                    state[g["id"]].add(m["id"])
        pairs = sorted(f"{g}/{m}" for g, ms in state.items() for m in ms)
        t = truth(fresh)["group_members"]
        assert hashlib.sha256("\n".join(pairs).encode()).hexdigest() == t["ids_sha256"]
        assert sum(len(ch["ids"]) for ch in res["changes"]) == 4


def test_organization_and_skus(server: EmulatorServer, client: httpx.Client) -> None:
    org = client.get("/v1.0/organization").json()["value"]
    assert org[0]["id"] == server.env()["O365_AZURE_TENANT"]
    skus = client.get("/v1.0/subscribedSkus").json()["value"]
    assert len(skus) == truth(server)["subscribed_skus"]["count"]
    assert all(s["id"].startswith(org[0]["id"] + "_") for s in skus)


def test_groups_expand_members(client: httpx.Client) -> None:
    body = client.get("/v1.0/groups?$top=2&$select=id&$expand=members($select=id)").json()
    assert len(body["value"]) == 2
    assert all(set(m) <= {"@odata.type", "id"} for g in body["value"] for m in g["members"])
    assert max(len(g["members"]) for g in body["value"]) <= 20
    assert client.get("/v1.0/groups?$expand=owners").status_code == 400
