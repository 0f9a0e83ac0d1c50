"""deltaLinks in the resource state: one compressed text, the links of an older plain state still read."""

from __future__ import annotations

from typing import Any

from o365_pipeline.graph.link_state import PACKED_KEY, PLAIN_KEY, load_links, pack, store_links

LINKS = {
    f"user-{u}/folder-{f}": f"https://graph.microsoft.com/v1.0/users/user-{u}/mailFolders/folder-{f}/messages/delta"
    f"?$deltatoken=token-{u}-{f}"
    for u in range(30)
    for f in range(12)
}


def test_links_come_back_exactly_as_stored_in_a_fraction_of_the_room() -> None:
    state: dict[str, Any] = {"unreadable": {"someone": {"code": "x", "since": 1.0}}}
    store_links(state, LINKS)
    assert load_links(state) == LINKS
    assert set(state) == {"unreadable", PACKED_KEY}
    assert len(state[PACKED_KEY]) < sum(len(k) + len(v) for k, v in LINKS.items()) / 4
    assert pack(dict(reversed(LINKS.items()))) == state[PACKED_KEY]  # same links, same text: no state change


def test_a_plain_mapping_of_an_older_state_is_read_then_rewritten_compressed() -> None:
    state: dict[str, Any] = {PLAIN_KEY: dict(LINKS), "users_digest": "d"}
    links = load_links(state)
    assert links == LINKS
    links["user-0/folder-0"] = "https://graph.microsoft.com/v1.0/next"
    store_links(state, links)
    assert PLAIN_KEY not in state and load_links(state)["user-0/folder-0"].endswith("/next")
    assert state["users_digest"] == "d"


def test_no_links_means_nothing_stored() -> None:
    state: dict[str, Any] = {PLAIN_KEY: {}}
    assert load_links(state) == {} and load_links({}) == {}
    store_links(state, {})
    assert state == {}
