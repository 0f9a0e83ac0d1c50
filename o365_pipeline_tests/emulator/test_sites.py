"""SharePoint routes of the emulator: sites, lists, list item delta, site and group drives, Sites.Selected."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, graph_client, mutate, tls, truth


def _sites(c: httpx.Client) -> list[dict]:
    """The SharePoint sites getAllSites lists (without the users' OneDrive sites)."""
    items, _ = all_pages(c, "/v1.0/sites/getAllSites")
    return [site for site in items if not site["isPersonalSite"]]


def test_sites_lists_and_drives_match_truth(server: EmulatorServer, client: httpx.Client) -> None:
    sites = _sites(client)
    expected = truth(server)
    personal = [s for s in all_pages(client, "/v1.0/sites/getAllSites")[0] if s["isPersonalSite"]]
    assert personal and all("-my.sharepoint.com/personal/" in s["webUrl"] for s in personal)
    assert expected["sites"]["count"] == len(sites) + len(personal) and len(sites) >= 4
    assert sum(1 for s in sites if "root" in s) == 1
    lists = [lst for s in sites for lst in all_pages(client, f"/v1.0/sites/{quote(s['id'])}/lists")[0]]
    assert expected["site_lists"]["count"] == len(lists)
    libraries = [lst for lst in lists if lst["list"]["template"] == "documentLibrary"]
    drives = [d for s in sites for d in client.get(f"/v1.0/sites/{quote(s['id'])}/drives").json()["value"]]
    assert expected["site_drives"]["count"] == len(drives) == len(libraries) == len(sites)
    assert {d["driveType"] for d in drives} == {"documentLibrary"}
    # a Microsoft 365 group's drive is its team site's library
    group_site = next(s for s in sites if "/sites/" in s["webUrl"] and "Team site" in s["description"])
    groups = client.get("/v1.0/groups", params={"$select": "id,groupTypes,mailNickname"}).json()["value"]
    unified = next(g for g in groups if "Unified" in g["groupTypes"] and g["mailNickname"] == group_site["name"])
    drive = client.get(f"/v1.0/groups/{unified['id']}/drive").json()
    assert drive["id"] in {d["id"] for d in drives} and drive["driveType"] == "documentLibrary"
    security = next(g for g in groups if "Unified" not in g["groupTypes"])
    assert client.get(f"/v1.0/groups/{security['id']}/drive").status_code == 404


def test_list_item_delta_reports_changes_and_deletions(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        rounds: dict[str, str] = {}
        for site in _sites(c):
            for lst in all_pages(c, f"/v1.0/sites/{quote(site['id'])}/lists")[0]:
                if lst["list"]["template"] != "documentLibrary":
                    path = f"/v1.0/sites/{quote(site['id'])}/lists/{lst['id']}/items/delta?$expand=fields"
                    items, link = delta_round(c, path)
                    assert items and all(i["fields"]["Title"] for i in items)
                    rounds[lst["id"]] = link
        assert sum(len(delta_round(c, link)[0]) for link in rounds.values()) == 0
        changed = mutate(fresh, [{"entity": "list_items", "op": op, "count": 2} for op in ("update", "delete")])
        updated, deleted = (set(change["ids"]) for change in changed["changes"])
        seen: dict[str, dict] = {}
        for list_id, link in rounds.items():
            for item in delta_round(c, link)[0]:
                seen[f"{list_id}/{item['id']}"] = item
        assert {k for k, v in seen.items() if "deleted" in v} == deleted
        assert {k for k, v in seen.items() if "deleted" not in v} == updated - deleted
        r = c.get(next(iter(rounds.values())).replace("token=", "token=x"))
        assert r.status_code == 410 and r.json()["error"]["code"] == "resyncRequired" and r.headers["Location"]


def test_library_delta_and_mutations(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        drives = [d for s in _sites(c) for d in c.get(f"/v1.0/sites/{quote(s['id'])}/drives").json()["value"]]
        links, ids = {}, set()
        for drive in drives:
            items, links[drive["id"]] = delta_round(c, f"/v1.0/drives/{drive['id']}/root/delta")
            ids |= {f"{drive['id']}/{i['id']}" for i in items}
            assert {i["parentReference"]["driveType"] for i in items} == {"documentLibrary"}
        expected = truth(fresh)["library_items"]["count"]
        assert len(ids) == expected
        changed = mutate(fresh, [{"entity": "library_items", "op": "delete", "count": 3}])["changes"][0]["ids"]
        gone = {
            f"{drive_id}/{i['id']}"
            for drive_id, link in links.items()
            for i in delta_round(c, link)[0]
            if "deleted" in i
        }
        assert gone == set(changed) and truth(fresh)["library_items"]["count"] == expected - 3


def test_sites_selected_reads_only_granted_sites(fresh: EmulatorServer) -> None:
    secret = "selected~secret"
    app = fresh.emu.identity.register_app("sites selected app", secret=secret)
    app.roles = ["Sites.Selected"]
    with graph_client(fresh) as admin:
        sites = _sites(admin)
    granted, other = sites[1], sites[2]
    r = httpx.post(
        f"{fresh.base_url}/_emulator/site_grants",
        json={"app_id": app.client_id, "site_ids": [granted["id"]]},
        verify=tls(fresh),
    )
    assert r.status_code == 200 and r.json()["site_ids"] == [granted["id"]]
    env = fresh.env()
    token = httpx.post(
        f"{fresh.base_url}/{env['O365_AZURE_TENANT']}/oauth2/v2.0/token",
        data={
            "client_id": app.client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls(fresh),
    ).json()["access_token"]
    with httpx.Client(base_url=fresh.base_url, verify=tls(fresh), headers={"Authorization": f"Bearer {token}"}) as c:
        denied = c.get("/v1.0/sites/getAllSites")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "accessDenied"
        assert c.get(f"/v1.0/sites/{quote(granted['id'])}/lists").status_code == 200
        drive = c.get(f"/v1.0/sites/{quote(granted['id'])}/drives").json()["value"][0]
        assert c.get(f"/v1.0/drives/{drive['id']}/root/delta").status_code == 200
        for path in ("", "/lists", "/drives"):
            r = c.get(f"/v1.0/sites/{quote(other['id'])}{path}")
            assert r.status_code == 403 and r.json()["error"]["code"] == "accessDenied", path
        user = fresh.env().get("O365_USERS") or next(iter(fresh.emu.directory.users.items))
        assert c.get(f"/v1.0/users/{user}/drive/root/delta").status_code == 403  # no OneDrive either
