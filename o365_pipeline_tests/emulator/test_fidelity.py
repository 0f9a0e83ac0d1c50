"""Where Graph is strict the emulator is too: documented $select properties, $filter support, scoped tokens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, tls

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture(scope="module")
def member(client: httpx.Client) -> str:
    """A licensed member whose mailbox is readable (the first one)."""
    users = client.get("/v1.0/users", params={"$filter": "userType eq 'Member'", "$select": "id"}).json()["value"]
    for u in users:
        if client.get(f"/v1.0/users/{u['id']}/mailFolders/inbox").status_code == 200:
            return str(u["id"])
    raise AssertionError("no readable mailbox")


def test_select_documented_unset_user_properties(client: httpx.Client) -> None:
    props = "country,city,state,streetAddress,postalCode,employeeId,onPremisesSyncEnabled,preferredLanguage,otherMails"
    users, _ = all_pages(client, f"/v1.0/users?$select={props}")
    assert len(users) == 20
    for u in users:
        assert set(u) == {"id", *props.split(",")}
        assert u["country"] is None and u["employeeId"] is None and u["onPremisesSyncEnabled"] is None
        assert u["otherMails"] == []  # collections render empty, not null
        assert u["city"] and u["preferredLanguage"] == "en-US"  # seeded ones keep their values
    one = client.get(f"/v1.0/users/{users[0]['id']}", params={"$select": "streetAddress,mailNickname"}).json()
    assert one["streetAddress"] is None and one["mailNickname"] is None
    r = client.get("/v1.0/users", params={"$select": "id,favouriteColour"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Request_BadRequest"
    assert "favouriteColour" in r.json()["error"]["message"]


def test_select_unset_property_on_users_delta(client: httpx.Client) -> None:
    items, _ = delta_round(client, "/v1.0/users/delta?$select=displayName,country")
    assert len(items) == 20 and all(i["country"] is None and i["displayName"] for i in items)


def test_select_documented_unset_message_properties(client: httpx.Client, member: str) -> None:
    url = f"/v1.0/users/{member}/mailFolders/inbox/messages"
    page = client.get(url, params={"$select": "subject,uniqueBody,internetMessageHeaders"}).json()["value"]
    assert page and all(m["uniqueBody"] is None and m["internetMessageHeaders"] is None and m["subject"] for m in page)
    items, _ = delta_round(client, f"{url}/delta?$select=subject,uniqueBody")
    assert items and all(set(m) >= {"id", "subject", "uniqueBody"} for m in items)
    r = client.get(url, params={"$select": "subject,mood"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RequestBroker--ParseUri"


def test_users_filter_forms(client: httpx.Client) -> None:
    def ids(flt: str, headers: dict[str, str] | None = None) -> list[dict]:
        items, _ = all_pages(
            client, f"/v1.0/users?$filter={flt}&$select=id,displayName,accountEnabled,userType", headers
        )
        return items

    everyone = ids("accountEnabled eq true") + ids("accountEnabled eq false")
    assert len(everyone) == 20 and len({u["id"] for u in everyone}) == 20
    assert [u["accountEnabled"] for u in ids("accountEnabled eq false")] == [False]  # the shared mailbox
    guests = ids("userType eq 'Guest'")
    assert len(guests) == 2 and all(u["userType"] == "Guest" for u in guests)
    a_names = ids("startswith(displayName,'a')")
    assert a_names and all(u["displayName"].lower().startswith("a") for u in a_names)
    both = ids("userType eq 'Member' and startswith(displayName,'a')")
    assert {u["id"] for u in both} == {u["id"] for u in a_names if u["userType"] == "Member"}
    either = ids("userType eq 'Guest' or accountEnabled eq false")
    assert len(either) == 3


def test_users_filter_paging_repeats_the_filter(client: httpx.Client) -> None:
    items, pages = all_pages(client, "/v1.0/users?$filter=userType eq 'Member'&$top=5&$select=id,userType")
    assert len(items) == 18 and pages == 4 and all(u["userType"] == "Member" for u in items)


def test_users_filter_unsupported_is_400(client: httpx.Client) -> None:
    for flt, prop in [("endswith(mail,'.com')", "mail"), ("accountEnabled ne true", "accountEnabled"), ("x eq 1", "x")]:
        r = client.get("/v1.0/users", params={"$filter": flt})
        assert r.status_code == 400, flt
        body = r.json()["error"]
        assert body["code"] == "Request_UnsupportedQuery" and f"'{prop}'" in body["message"]
    # advanced queries (ConsistencyLevel: eventual) allow endswith and ne
    r = client.get(
        "/v1.0/users", params={"$filter": "endswith(mail,'fabrikam.com')", "$count": "true"}, headers=EVENTUAL
    )
    assert r.status_code == 200 and r.json()["@odata.count"] == 2
    r = client.get("/v1.0/users", params={"$filter": "accountEnabled eq"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_messages_filter_on_lists(client: httpx.Client, member: str) -> None:
    base = f"/v1.0/users/{member}/messages?$select=receivedDateTime,lastModifiedDateTime&$top=1000"
    every, _ = all_pages(client, base)
    stamps = sorted(m["receivedDateTime"] for m in every)
    cut = stamps[len(stamps) // 2]
    newer, _ = all_pages(client, f"{base}&$filter=receivedDateTime ge {cut}")
    assert len(newer) == sum(s >= cut for s in stamps) and all(m["receivedDateTime"] >= cut for m in newer)
    mod, _ = all_pages(client, f"{base}&$filter=lastModifiedDateTime ge {cut}")
    assert 0 < len(mod) <= len(every) and all(m["lastModifiedDateTime"] >= cut for m in mod)
    folder = f"/v1.0/users/{member}/mailFolders/inbox/messages?$select=receivedDateTime&$top=2"
    paged, pages = all_pages(client, f"{folder}&$filter=receivedDateTime lt {cut}")
    assert all(m["receivedDateTime"] < cut for m in paged) and pages >= len(paged) // 2
    r = client.get(f"/v1.0/users/{member}/messages", params={"$filter": "bodyPreview eq 'x'"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidUrlQueryFilter"


def test_message_delta_filter_only_received_date(client: httpx.Client, member: str) -> None:
    url = f"/v1.0/users/{member}/mailFolders/inbox/messages/delta"
    every, _ = delta_round(client, f"{url}?$select=receivedDateTime")
    cut = sorted(m["receivedDateTime"] for m in every)[len(every) // 2]
    some, link = delta_round(client, f"{url}?$select=receivedDateTime&$filter=receivedDateTime ge {cut}")
    assert len(some) == sum(m["receivedDateTime"] >= cut for m in every) and 0 < len(some) < len(every)
    again, _ = delta_round(client, link)
    assert again == []
    for flt in (f"lastModifiedDateTime ge {cut}", f"receivedDateTime lt {cut}"):
        r = client.get(url, params={"$filter": flt})
        assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidUrlQueryFilter", flt


def test_message_delta_accepts_top_as_documented(client: httpx.Client, member: str) -> None:
    # message-delta docs: "Delta query support $select, $top, and $expand for messages."
    r = client.get(f"/v1.0/users/{member}/mailFolders/inbox/messages/delta", params={"$top": "2"})
    assert r.status_code == 200 and len(r.json()["value"]) == 2 and "@odata.nextLink" in r.json()


@pytest.fixture()
def scoped(fresh: EmulatorServer) -> Iterator[tuple[EmulatorServer, list[str]]]:
    """The fresh server plus an app registration whose granted roles a test sets."""
    secret = "scoped~secret"
    app = fresh.emu.identity.register_app("scoped app", secret=secret)
    app.roles = ["User.Read.All"]
    yield fresh, [app.client_id, secret]


def _scoped_client(server: EmulatorServer, client_id: str, secret: str) -> httpx.Client:
    env = server.env()
    r = httpx.post(
        f"{server.base_url}/{env['O365_AZURE_TENANT']}/oauth2/v2.0/token",
        data={
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls(server),
    )
    r.raise_for_status()
    token = r.json()["access_token"]
    return httpx.Client(base_url=server.base_url, verify=tls(server), headers={"Authorization": f"Bearer {token}"})


def test_token_without_the_route_permission_is_403(scoped: tuple[EmulatorServer, list[str]]) -> None:
    server, (client_id, secret) = scoped
    with _scoped_client(server, client_id, secret) as c:
        users = c.get("/v1.0/users?$select=id")
        assert users.status_code == 200
        uid = users.json()["value"][0]["id"]
        cases = [
            ("/v1.0/groups", "Authorization_RequestDenied", "Group.Read.All"),
            (f"/v1.0/users/{uid}/mailFolders/inbox/messages", "ErrorAccessDenied", "Mail.ReadBasic.All"),
            (f"/v1.0/users/{uid}/calendarView/delta", "ErrorAccessDenied", "Calendars.Read"),
            (f"/v1.0/users/{uid}/drive/root/delta", "Forbidden", "Files.Read.All"),
            ("/v1.0/auditLogs/signIns", "Forbidden", "AuditLog.Read.All"),
        ]
        for path, code, perm in cases:
            r = c.get(path)
            assert r.status_code == 403, path
            err = r.json()["error"]
            assert err["code"] == code and perm in err["message"] and "User.Read.All" in err["message"], path
        batch = c.post(
            "/v1.0/$batch",
            json={
                "requests": [
                    {"id": "1", "method": "GET", "url": "/users?$select=id"},
                    {"id": "2", "method": "GET", "url": "/groups"},
                ]
            },
        ).json()["responses"]
        assert {a["id"]: a["status"] for a in batch} == {"1": 200, "2": 403}


def test_granting_the_permission_opens_the_route(scoped: tuple[EmulatorServer, list[str]]) -> None:
    server, (client_id, secret) = scoped
    app = server.emu.identity.apps[client_id]
    app.roles = ["User.Read.All", "GroupMember.Read.All"]  # any accepted permission will do, not only the least
    with _scoped_client(server, client_id, secret) as c:
        assert c.get("/v1.0/groups?$select=id").status_code == 200
