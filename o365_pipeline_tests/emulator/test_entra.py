"""Entra governance as Graph serves it: group owners (owners@delta of groups/delta), role definitions and
assignments (unified RBAC), Conditional Access policies, the MFA registration report, and the Conditional Access
detail of sign-ins that only an app allowed to read Conditional Access data gets."""

from __future__ import annotations

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.tenant_entra import GLOBAL_ADMIN, assignment_id

from .conftest import all_pages, delta_round, graph_client, mutate, tls, truth

REPORT = "/v1.0/reports/authenticationMethods/userRegistrationDetails"


def test_role_assignment_ids_are_formed_as_graph_forms_them() -> None:
    # the docs' list example: Global Administrator held by ace08ec9-...
    assert assignment_id(GLOBAL_ADMIN, "ace08ec9-aa11-4ada-9145-addf0398233e") == (
        "lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1"
    )


def test_owners_delta_reports_owner_changes_and_the_owners_route_lists_them(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        items, link = delta_round(c, "/v1.0/groups/delta?$select=owners")
        owners = {(g["id"], o["id"]) for g in items for o in g["owners@delta"]}
        assert all("members@delta" not in g for g in items)  # only what $select named
        assert len(owners) == truth(fresh)["group_owners"]["count"] and len(owners) > 0
        owned = {gid for gid, _ in owners}
        assert 0 < len(owned) < len({g["id"] for g in items})  # most groups have owners, not all
        gid, oid = sorted(owners)[0]
        listed = [o["id"] for o in all_pages(c, f"/v1.0/groups/{gid}/owners")[0]]
        assert oid in listed

        fresh.emu.directory.set_ownership(gid, oid, False)
        changed, link = delta_round(c, link)
        assert [g["owners@delta"] for g in changed if g["id"] == gid] == [
            [{"@odata.type": "#microsoft.graph.user", "id": oid, "@removed": {"reason": "deleted"}}]
        ]
        members, _ = delta_round(c, "/v1.0/groups/delta?$select=members")  # members rounds carry no owners
        assert all("owners@delta" not in g for g in members)
        added = mutate(fresh, [{"entity": "group_owners", "op": "create"}])["changes"][0]["ids"][0]
        changed, _ = delta_round(c, link)
        group, owner = added.split("/")
        assert {"@odata.type": "#microsoft.graph.user", "id": owner} in next(
            g["owners@delta"] for g in changed if g["id"] == group
        )


def test_roles_assignments_policies_and_registrations_match_truth(client: httpx.Client, server: EmulatorServer) -> None:
    expected = truth(server)
    roles, _ = all_pages(client, "/v1.0/roleManagement/directory/roleDefinitions")
    assignments, _ = all_pages(client, "/v1.0/roleManagement/directory/roleAssignments")
    policies, _ = all_pages(client, "/v1.0/identity/conditionalAccess/policies")
    registrations, _ = all_pages(client, REPORT)
    assert len(roles) == expected["directory_roles"]["count"]
    assert len(assignments) == expected["directory_role_members"]["count"]
    assert len(policies) == expected["conditional_access_policies"]["count"]
    assert len(registrations) == expected["user_registration_details"]["count"] == expected["users"]["count"]
    names = {r["id"]: r["displayName"] for r in roles}
    assert {names[a["roleDefinitionId"]] for a in assignments} >= {"Global Administrator", "User Administrator"}
    assert any(not r["isBuiltIn"] for r in roles)  # the tenant's custom role
    assert {p["state"] for p in policies} == {"enabled", "disabled", "enabledForReportingButNotEnforced"}
    admins = {a["principalId"] for a in assignments}
    assert {r["id"] for r in registrations if r["isAdmin"]} == admins
    registered = [r for r in registrations if r["isMfaRegistered"]]
    assert 0 < len(registered) < len(registrations)  # a realistic spread, not everyone
    assert {m for r in registrations for m in r["methodsRegistered"]} >= {"microsoftAuthenticatorPush", "mobilePhone"}
    ga = client.get(
        "/v1.0/roleManagement/directory/roleAssignments", params={"$filter": f"roleDefinitionId eq '{GLOBAL_ADMIN}'"}
    ).json()["value"]
    assert 1 <= len(ga) <= 3 and all(a["roleDefinitionId"] == GLOBAL_ADMIN for a in ga)


@pytest.mark.parametrize("query", ["$select=id", "$top=5"])
def test_the_registration_report_refuses_select_and_top(client: httpx.Client, query: str) -> None:
    # its docs: "This method supports only the $filter and $orderBy OData query parameters"
    r = client.get(f"{REPORT}?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_a_removed_role_assignment_ends_the_admin_flag(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        before = {a["id"]: a["principalId"] for a in all_pages(c, "/v1.0/roleManagement/directory/roleAssignments")[0]}
        holders = list(before.values())
        single = next(aid for aid, p in before.items() if holders.count(p) == 1)
        while True:  # remove assignments until the one of a single-role holder went
            gone = mutate(fresh, [{"entity": "directory_role_members", "op": "delete"}])["changes"][0]["ids"]
            if single in gone:
                break
        row = c.get(REPORT, params={"$filter": f"id eq '{before[single]}'"}).json()["value"][0]
        assert row["isAdmin"] is False
        assert single not in {a["id"] for a in all_pages(c, "/v1.0/roleManagement/directory/roleAssignments")[0]}


def _app_client(server: EmulatorServer, roles: list[str]) -> httpx.Client:
    app = server.emu.identity.register_app("governance reader", secret="gov~secret")
    app.roles = roles
    env = server.env()
    token = httpx.post(
        f"{server.base_url}/{env['O365_AZURE_TENANT']}/oauth2/v2.0/token",
        data={
            "client_id": app.client_id,
            "client_secret": "gov~secret",
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls(server),
    ).json()["access_token"]
    return httpx.Client(base_url=server.base_url, verify=tls(server), headers={"Authorization": f"Bearer {token}"})


def test_conditional_access_detail_needs_policy_read_all(fresh: EmulatorServer) -> None:
    with _app_client(fresh, ["AuditLog.Read.All"]) as c:
        sign_ins = c.get("/v1.0/auditLogs/signIns?$top=20").json()["value"]
        assert sign_ins and all(s["appliedConditionalAccessPolicies"] == [] for s in sign_ins)
        for path, permission in (
            ("/v1.0/identity/conditionalAccess/policies", "Policy.Read.All"),
            ("/v1.0/roleManagement/directory/roleAssignments", "RoleManagement.Read.Directory"),
        ):
            r = c.get(path)
            assert r.status_code == 403 and permission in r.json()["error"]["message"], path
        assert c.get(REPORT).status_code == 200  # the registration report needs AuditLog.Read.All only
    with _app_client(fresh, ["AuditLog.Read.All", "Policy.Read.All"]) as c:
        sign_ins = c.get("/v1.0/auditLogs/signIns?$top=20").json()["value"]
        policies = {p["id"] for p in c.get("/v1.0/identity/conditionalAccess/policies").json()["value"]}
        applied = {p["id"] for s in sign_ins for p in s["appliedConditionalAccessPolicies"]}
        assert applied and applied <= policies  # the policies sign-ins name are the tenant's
