"""The Teams channel message and member routes as Graph's docs describe them: delta paging and rounds, deleted
messages with ``deletedDateTime``, ``$expand=replies``, ``$top`` at most 50, the protected permission."""

from __future__ import annotations

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.conftest import admin, truth

from .conftest import all_pages, graph_client


def first_channel(c: httpx.Client) -> tuple[str, str]:
    """A team and the channel of it with the most messages."""
    for team in c.get("/v1.0/teams").json()["value"]:
        channels = c.get(f"/v1.0/teams/{team['id']}/channels").json()["value"]
        ranked = sorted(
            channels,
            key=lambda ch: -len(c.get(f"/v1.0/teams/{team['id']}/channels/{ch['id']}/messages").json()["value"]),
        )
        if ranked:
            return team["id"], ranked[0]["id"]
    raise AssertionError("no team with a channel")


def delta_round(c: httpx.Client, url: str, params: dict[str, str] | None = None) -> tuple[list[dict], str, int]:
    """Every item of one delta round, its deltaLink and the pages it took (no page has both links)."""
    items: list[dict] = []
    pages = 0
    while True:
        r = c.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        items += body["value"]
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url, params = body["@odata.nextLink"], None


def test_delta_pages_by_top_and_reports_changed_deleted_and_replied_messages(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        team, channel = first_channel(c)
        url = f"/v1.0/teams/{team}/channels/{channel}/messages/delta"
        listed = c.get(f"/v1.0/teams/{team}/channels/{channel}/messages").json()["value"]
        items, link, pages = delta_round(c, url, {"$top": "1"})
        assert [m["id"] for m in items] == [m["id"] for m in listed] and pages == len(listed) > 1
        assert all(m["replyToId"] is None and m["deletedDateTime"] is None for m in items)
        assert c.get(url, params={"$top": "51"}).status_code == 400  # "The upper limit is 50"
        assert c.get(url, params={"$select": "id"}).status_code == 400
        assert delta_round(c, link)[0] == []  # nothing changed: an empty round

        links = []  # a deltaLink of every channel, with replies expanded
        for t in c.get("/v1.0/teams").json()["value"]:
            for ch in c.get(f"/v1.0/teams/{t['id']}/channels").json()["value"]:
                base = f"/v1.0/teams/{t['id']}/channels/{ch['id']}/messages/delta"
                links.append(delta_round(c, base, {"$expand": "replies"})[1])
        created = mutate(fresh, "channel_message_replies", "create", 3)
        rounds = [delta_round(c, link) for link in links]
        changed = {m["id"]: m for items, _, _ in rounds for m in items}
        replied = {m["id"] for m in changed.values() if {r["id"] for r in m["replies"]} & set(created)}
        assert set(changed) == replied and 0 < len(replied) <= 3  # only the reply chains that changed
        assert set(created) <= {r["id"] for m in changed.values() for r in m["replies"]}

        deleted = mutate(fresh, "channel_messages", "delete", 2)
        changed = {m["id"]: m for _, link, _ in rounds for m in delta_round(c, link)[0]}
        assert set(changed) == set(deleted)
        for message in changed.values():  # a deleted message comes with deletedDateTime and no body, not @removed
            assert message["deletedDateTime"] and message["body"]["content"] == "" and message["replies"] == []


def mutate(emulator: EmulatorServer, table: str, op: str, count: int) -> list[str]:
    ops = [{"entity": table, "op": op, "count": count}]
    return list(admin(emulator, "POST", "mutate", {"seed": 3, "ops": ops}).json()["changes"][0]["ids"])


def test_replies_page_by_top_and_members_list_roles(server: EmulatorServer, client: httpx.Client) -> None:
    team, channel = first_channel(client)
    base = f"/v1.0/teams/{team}/channels/{channel}/messages"
    roots = client.get(base, params={"$expand": "replies"}).json()["value"]
    expanded = client.get(f"{base}/delta", params={"$expand": "replies"}).json()["value"]
    for root in expanded:
        replies, _ = all_pages(client, f"{base}/{root['id']}/replies?$top=1")
        assert [r["id"] for r in replies] == [r["id"] for r in root["replies"]]
        assert all(r["replyToId"] == root["id"] for r in replies)
    assert roots and client.get(f"{base}/{roots[0]['id']}/replies", params={"$top": "51"}).status_code == 400
    members = client.get(f"/v1.0/teams/{team}/members").json()["value"]
    assert sum("owner" in m["roles"] for m in members) == 1
    assert all(m["@odata.type"] == "#microsoft.graph.aadUserConversationMember" and m["userId"] for m in members)
    expected = truth(server)
    assert expected["channel_messages"]["count"] > 0 and expected["channel_message_replies"]["count"] > 0
    assert expected["channel_members"]["count"] >= expected["team_members"]["count"]


def test_an_expired_delta_token_answers_410_with_a_location(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        team, channel = first_channel(c)
        url = f"/v1.0/teams/{team}/channels/{channel}/messages/delta"
        _, link, _ = delta_round(c, url)
        admin(fresh, "POST", "faults", {"expire_delta": 1.0})
        r = c.get(link)
        assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound"
        assert r.headers["location"].endswith(url)


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("/channels/{c}/messages/delta", "ChannelMessage.Read.All"),
        ("/members", "TeamMember.Read.All"),
        ("/channels/{c}/members", "ChannelMember.Read.All"),
    ],
)
def test_each_route_needs_its_permission(fresh: EmulatorServer, path: str, permission: str) -> None:
    with graph_client(fresh) as c:
        team, channel = first_channel(c)
    fresh.emu.identity.default_app.roles = [r for r in fresh.emu.identity.default_app.roles if r != permission]
    with graph_client(fresh) as c:
        r = c.get(f"/v1.0/teams/{team}" + path.format(c=channel))
        assert r.status_code == 403 and permission in r.json()["error"]["message"]
