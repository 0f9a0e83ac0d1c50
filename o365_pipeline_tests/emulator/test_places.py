"""The places routes (rooms, room lists, a room list's rooms) as the place-list docs describe them."""

from __future__ import annotations

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, graph_client, mutate, truth


def test_rooms_and_room_lists_page_by_top_and_skip_and_equal_truth(
    server: EmulatorServer, client: httpx.Client
) -> None:
    rooms, _ = all_pages(client, "/v1.0/places/microsoft.graph.room")
    paged, pages = all_pages(client, "/v1.0/places/microsoft.graph.room?$top=2")
    assert paged == rooms and pages == -(-len(rooms) // 2)  # $top pages, the nextLink carries $skip
    lists, _ = all_pages(client, "/v1.0/places/microsoft.graph.roomList?$select=displayName,emailAddress")
    assert all(set(item) == {"id", "displayName", "emailAddress"} for item in lists)
    expected = truth(server)
    assert (len(rooms), len(lists)) == (expected["rooms"]["count"], expected["room_lists"]["count"]) == (6, 2)
    assert all(isinstance(r["capacity"], int) and r["emailAddress"] and r["building"] for r in rooms)
    by_list = [
        all_pages(client, f"/v1.0/places/{item['emailAddress']}/microsoft.graph.roomlist/rooms")[0] for item in lists
    ]
    assert sorted(r["id"] for members in by_list for r in members) == sorted(r["id"] for r in rooms)
    assert all(len({r["building"] for r in members}) == 1 for members in by_list)  # a list is a building


def test_unknown_room_list_and_filter_are_refused(client: httpx.Client) -> None:
    missing = client.get("/v1.0/places/nowhere@contoso3.onmicrosoft.com/microsoft.graph.roomlist/rooms")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
    flt = client.get("/v1.0/places/microsoft.graph.room?$filter=capacity gt 4")
    assert flt.status_code == 400
    assert client.get("/v1.0/places/microsoft.graph.room?$top=0").status_code == 400


def test_rooms_and_room_lists_change_with_mutations(fresh: EmulatorServer) -> None:
    before = truth(fresh)
    changed = mutate(fresh, [{"entity": "rooms", "op": op, "count": 1} for op in ("create", "delete")])
    after = truth(fresh)
    assert after["rooms"]["count"] == before["rooms"]["count"]
    assert after["rooms"]["ids_sha256"] != before["rooms"]["ids_sha256"]
    mutate(fresh, [{"entity": "room_lists", "op": "create", "count": 1}])
    with graph_client(fresh) as c:
        lists, _ = all_pages(c, "/v1.0/places/microsoft.graph.roomlist")
        assert len(lists) == 3 and truth(fresh)["room_lists"]["count"] == 3
        assert c.get(f"/v1.0/places/{lists[-1]['emailAddress']}/microsoft.graph.roomlist/rooms").json()["value"] == []
    assert changed
