"""The emulator's usage reports: 302 to a pre-authenticated download elsewhere that refuses a bearer token,
documented columns, one frozen snapshot per refresh date, ``advance`` and concealed names."""

from __future__ import annotations

import csv
import io

import httpx

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.tenant_reports import REPORTS, conceal

from .conftest import graph_client, mutate, tls, truth

ACTIVE = "reports/getOffice365ActiveUserDetail(period='D7')"


def download(server: EmulatorServer, c: httpx.Client, path: str, **headers: str) -> httpx.Response:
    """Ask a report, then fetch its Location (without the client's token unless given in ``headers``)."""
    answer = c.get(f"/v1.0/{path}")
    assert answer.status_code == 302, answer.text
    return httpx.get(answer.headers["Location"], verify=tls(server), headers=headers)


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_report_redirects_to_a_download_elsewhere_that_refuses_the_bearer_token(server: EmulatorServer) -> None:
    with graph_client(server) as c:
        answer = c.get(f"/v1.0/{ACTIVE}")
        assert answer.status_code == 302 and answer.content == b""
        location = answer.headers["Location"]
        assert location.startswith("https://localhost:") and server.base_url.startswith("https://127.0.0.1:")
        leaked = httpx.get(location, verify=tls(server), headers={"Authorization": c.headers["Authorization"]})
        assert leaked.status_code == 400 and leaked.json()["error"]["code"] == "InvalidAuthenticationInfo"
        fetched = httpx.get(location, verify=tls(server))
        assert fetched.status_code == 200 and fetched.content.startswith(b"\xef\xbb\xbf")
        forged = httpx.get(location[:-4] + "AAAA", verify=tls(server))
        assert forged.status_code == 403
        assert c.get("/v1.0/reports/getMailboxUsageDetail(period='D8')").status_code == 400
    unauthenticated = httpx.get(f"{server.base_url}/v1.0/{ACTIVE}", verify=tls(server))
    assert unauthenticated.status_code == 401


def test_every_report_serves_its_documented_columns_one_row_per_user_or_site(server: EmulatorServer) -> None:
    with graph_client(server) as c:
        users = c.get("/v1.0/users?$select=userPrincipalName,assignedLicenses&$top=999").json()["value"]
        for function, report in REPORTS.items():
            body = download(server, c, f"reports/{function}(period='D30')").content
            header = body.decode("utf-8-sig").split("\r\n", 1)[0]
            assert header == ",".join(report.columns), function
            found = rows(body)
            assert len({row[report.key] for row in found}) == len(found) > 0, function
            assert {row["Report Refresh Date"] for row in found} == {"2026-10-30"}, function
            assert {row.get("Report Period", "30") for row in found} == {"30"}, function
        licensed = {u["userPrincipalName"] for u in users if u["assignedLicenses"]}
        active = rows(download(server, c, ACTIVE).content)
        assert {row["User Principal Name"] for row in active} == {u["userPrincipalName"] for u in users}
        mailboxes = rows(download(server, c, "reports/getMailboxUsageDetail(period='D7')").content)
        assert {row["User Principal Name"] for row in mailboxes} == licensed


def test_advance_freezes_a_new_snapshot_and_truth_keeps_the_downloaded_ones(fresh: EmulatorServer) -> None:
    table = REPORTS["getOffice365ActiveUserDetail"].table
    with graph_client(fresh) as c:
        first = download(fresh, c, ACTIVE).content
        mutate(fresh, [{"entity": "users", "op": "create"}])
        assert download(fresh, c, ACTIVE).content == first  # the day's snapshot does not change
        assert truth(fresh)[table]["count"] == len(rows(first))
        mutate(fresh, [{"entity": table, "op": "advance"}])
        second = rows(download(fresh, c, ACTIVE).content)
        assert {row["Report Refresh Date"] for row in second} == {"2026-10-31"}
        assert len(second) == len(rows(first)) + 1  # the user created meanwhile
        assert truth(fresh)[table]["count"] == len(rows(first)) + len(second)  # both days


def test_a_concealed_tenant_hashes_names(fresh: EmulatorServer) -> None:
    answer = httpx.post(f"{fresh.base_url}/_emulator/reports", json={"concealed": True}, verify=tls(fresh))
    assert answer.json()["concealed"] is True
    with graph_client(fresh) as c:
        upns = {u["userPrincipalName"] for u in c.get("/v1.0/users?$select=userPrincipalName").json()["value"]}
        active = rows(download(fresh, c, ACTIVE).content)
        sites = rows(download(fresh, c, "reports/getSharePointSiteUsageDetail(period='D7')").content)
    assert {row["User Principal Name"] for row in active} == {conceal(upn) for upn in upns}
    assert all("@" not in row["User Principal Name"] and row["Display Name"] for row in active)
    assert all(not row["Site URL"].startswith("https://") and row["Site Id"] for row in sites)
