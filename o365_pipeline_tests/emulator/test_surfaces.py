"""Surfaces the other modules leave out: paging limits, every directory @removed form, expiry answers,
the 504 fault, chained $batch dependencies, directory throttle answers."""

from __future__ import annotations

import httpx

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.throttle import parse_faults

from .conftest import delta_round, get_token, graph_client, mutate, tls


def _mailbox_user(c: httpx.Client) -> str:
    for u in c.get("/v1.0/users?$select=id").json()["value"]:
        if c.get(f"/v1.0/users/{u['id']}/mailFolders/inbox").status_code == 200:
            return str(u["id"])
    raise AssertionError("no readable mailbox")


def test_paging_limits(client: httpx.Client) -> None:
    for path in ("/v1.0/groups", f"/v1.0/groups/{client.get('/v1.0/groups').json()['value'][0]['id']}/members"):
        assert client.get(f"{path}?$top=999").status_code == 200
        for bad in ("1000", "0", "x"):
            r = client.get(f"{path}?$top={bad}")
            assert r.status_code == 400 and r.json()["error"]["code"] == "Request_UnsupportedQuery", (path, bad)
    users = client.get("/v1.0/users").json()
    assert len(users["value"]) == 20 and "@odata.nextLink" not in users  # default 100 > 20
    uid = _mailbox_user(client)
    folders = client.get(f"/v1.0/users/{uid}/mailFolders").json()
    assert len(folders["value"]) == 10 and "$skip=10" in folders["@odata.nextLink"]  # 11 top-level, default 10
    assert len(client.get(folders["@odata.nextLink"]).json()["value"]) == 1
    msgs = f"/v1.0/users/{uid}/mailFolders/inbox/messages"
    page = client.get(f"/v1.0/users/{uid}/messages").json()
    assert len(page["value"]) == 10 and "$skip=10" in page["@odata.nextLink"]
    r = client.get(msgs, headers={"Prefer": "odata.maxpagesize=3"})
    assert len(r.json()["value"]) == 3 and r.headers["Preference-Applied"] == "odata.maxpagesize=3"
    r = client.get(msgs, headers={"Prefer": "odata.maxpagesize=5000"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=1000"
    r = client.get(f"{msgs}?$top=1001")
    assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidUrlQueryParameter"
    sizes, link = [], f"{msgs}/delta"
    while link:
        r = client.get(link, headers={"Prefer": "odata.maxpagesize=2"})
        assert r.headers["Preference-Applied"] == "odata.maxpagesize=2"
        sizes.append(len(r.json()["value"]))
        link = r.json().get("@odata.nextLink")
    assert len(sizes) > 2 and set(sizes[:-1]) == {2} and sizes[-1] in (1, 2)


def test_every_directory_removed_form(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        _, users_link = delta_round(c, "/v1.0/users/delta?$select=displayName")
        _, groups_link = delta_round(c, "/v1.0/groups/delta?$select=displayName,members")
        res = mutate(
            fresh,
            [
                {"entity": "users", "op": "delete", "count": 1},
                {"entity": "users", "op": "purge", "count": 1},
                {"entity": "groups", "op": "delete", "count": 1},
                {"entity": "groups", "op": "purge", "count": 1},
                {"entity": "group_members", "op": "delete", "count": 1},
            ],
            seed=11,
        )
        (soft_u,), (hard_u,), (soft_g,), (hard_g,), (pair,) = (ch["ids"] for ch in res["changes"])
        users, _ = delta_round(c, users_link)
        reasons = {u["id"]: u["@removed"]["reason"] for u in users if "@removed" in u}
        assert reasons == {soft_u: "changed", hard_u: "deleted"}
        groups, _ = delta_round(c, groups_link)
        greasons = {g["id"]: g["@removed"]["reason"] for g in groups if "@removed" in g}
        assert greasons == {soft_g: "changed", hard_g: "deleted"}
        removed_members = {
            (g["id"], m["id"], m["@odata.type"]) for g in groups for m in g.get("members@delta", []) if "@removed" in m
        }
        gid, mid = pair.split("/")
        assert any(g == gid and m == mid for g, m, _ in removed_members)
        # the deleted users' memberships go too, typed as users
        assert {t for _, m, t in removed_members if m in (soft_u, hard_u)} <= {"#microsoft.graph.user"}
        # a new full round lists what is gone with @removed as well
        full, _ = delta_round(c, "/v1.0/users/delta?$select=displayName")
        assert {u["id"]: u["@removed"]["reason"] for u in full if "@removed" in u} == reasons
        assert len([u for u in full if "@removed" not in u]) == 18


def test_expiry_answers_per_family(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        uid = _mailbox_user(c)
        urls = {
            "users": "/v1.0/users/delta",
            "groups": "/v1.0/groups/delta",
            "contacts": f"/v1.0/users/{uid}/contactFolders/delta",
            "events": f"/v1.0/users/{uid}/calendarView/delta?startDateTime=2020-01-01T00:00:00Z"
            "&endDateTime=2030-01-01T00:00:00Z",
        }
        links = {k: delta_round(c, u)[1] for k, u in urls.items()}
        mid_round = c.get("/v1.0/users/delta").json()["@odata.nextLink"]
        httpx.post(f"{fresh.base_url}/_emulator/faults", json={"expire_delta": 1.0}, verify=tls(fresh))
        for k in ("users", "groups"):
            r = c.get(links[k])
            assert r.status_code == 400 and r.json()["error"]["code"] == "syncStateNotFound", k
        for k in ("contacts", "events"):
            r = c.get(links[k])
            assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound", k
            assert r.headers["Location"].split("?")[0].endswith(urls[k].split("?")[0])
        assert c.get(mid_round).status_code == 200  # only stored deltaLinks expire, not a round's nextLinks
        r = c.get("/v1.0/users/delta?$skiptoken=forged")
        assert r.status_code == 400 and r.json()["error"]["code"] == "syncStateNotFound"


def test_504_fault() -> None:
    assert parse_faults("504=0.25") == {"504": 0.25}
    with EmulatorServer(faults={"504": 1.0}) as s, graph_client(s) as c:
        r = c.get("/v1.0/users")
        assert r.status_code == 504 and r.json()["error"]["code"] == "GatewayTimeout"
        assert r.json()["error"]["innerError"]["request-id"] == r.headers["request-id"]
        stats = httpx.get(f"{s.base_url}/_emulator/stats", verify=tls(s)).json()
        assert stats["by_route"]["users"] == {"504": 1}
        httpx.post(f"{s.base_url}/_emulator/faults", json={}, verify=tls(s))
        assert c.get("/v1.0/users").status_code == 200


def test_batch_failed_dependency_cascades(client: httpx.Client) -> None:
    reqs = [
        {"id": "a", "method": "GET", "url": "/users?$top=1000"},
        {"id": "b", "method": "GET", "url": "/organization", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": "/organization", "dependsOn": ["b"]},
        {"id": "d", "method": "GET", "url": "/organization"},
    ]
    answers = {a["id"]: a for a in client.post("/v1.0/$batch", json={"requests": reqs}).json()["responses"]}
    assert {k: a["status"] for k, a in answers.items()} == {"a": 400, "b": 424, "c": 424, "d": 200}
    assert answers["b"]["body"]["error"]["code"] == "FailedDependency"
    bad = [{"id": "x", "method": "GET", "url": "/organization", "dependsOn": ["nope"]}]
    assert client.post("/v1.0/$batch", json={"requests": bad}).status_code == 400
    absolute = [{"id": "x", "method": "GET", "url": "https://graph.microsoft.com/v1.0/organization"}]
    answer = client.post("/v1.0/$batch", json={"requests": absolute}).json()["responses"][0]
    assert answer["status"] == 400


def test_directory_throttle_answer_shape() -> None:
    with EmulatorServer(throttle=True) as s:
        s.emu.throttle.config.directory_ru = 6
        with httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c:
            answers = [c.get(f"{s.base_url}/v1.0/users") for _ in range(5)]
        codes = [a.status_code for a in answers]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        throttled = next(a for a in answers if a.status_code == 429)
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        assert 0 < float(throttled.headers["Retry-After"]) <= s.emu.throttle.config.window_s
