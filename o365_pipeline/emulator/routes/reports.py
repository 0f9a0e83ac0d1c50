"""Usage report routes: ``/reports/get...(period='D7')`` and the pre-authenticated CSV download they lead to.

As in Graph, a report function answers ``302 Found`` with a ``Location`` on another host (here the loopback
address under its other name: ``localhost`` for ``127.0.0.1`` and back) holding a short-lived signed
download URL; the download takes no ``Authorization`` header and refuses one (a client that sends its
Graph token there leaks it to the download host). Truth: one table per report, ids
``<report refresh date>/<row key>``. Mutate op ``advance`` moves a report's refresh date ``count`` days on,
``recompute`` computes the current date's snapshot again (same date, the users and sites of now);
``POST /_emulator/reports`` with ``{"concealed": true}`` conceals user, group and site names.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import orjson

from ..router import GraphError, Request, Response
from ..tenant_reports import PERIODS, REPORTS, SiteRef, UsageReports
from ..workloads import CoreDirectoryView, workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

DOWNLOAD_SECONDS = 300  # Graph: "valid for a short period of time (a few minutes)"
_FUNCTIONS = "|".join(REPORTS)
_BY_EMULATOR: weakref.WeakKeyDictionary[Emulator, UsageReports] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def reports_for(emu: Emulator) -> UsageReports:
    """The usage reports of ``emu`` (created on first use)."""
    with _LOCK:
        found = _BY_EMULATOR.get(emu)
        if found is None:
            org = emu.directory.organization.items
            name = next((str(o.get("displayName")) for o in org.values()), "Contoso")
            store = workloads_for(emu).sites

            def sites() -> list[SiteRef]:  # the tenant's SharePoint sites (personal OneDrive sites are not listed)
                return [
                    SiteRef(s.id.split(",")[1], s.web_url, s.display_name, s.group_id is not None)
                    for s in store.sites()
                ]

            found = _BY_EMULATOR[emu] = UsageReports(CoreDirectoryView(emu.directory), name, sites)
        return found


def download_base(base_url: str) -> str:
    """The download host: the emulator under its other loopback name, so the link is on another origin."""
    parts = urlsplit(base_url)
    other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(parts.hostname or "", parts.hostname or "")
    return f"{parts.scheme}://{other}:{parts.port}" if parts.port else f"{parts.scheme}://{other}"


def register(emu: Emulator) -> None:
    """Add the report functions, the download route, the concealment switch, truth and ``advance``."""
    reports = reports_for(emu)
    r = emu.router

    @r.graph(
        "GET", rf"/reports/(?P<function>{_FUNCTIONS})\(period=(?:'|%27)(?P<period>[^'%]*)(?:'|%27)\)", name="reports"
    )
    def report(req: Request) -> Response:
        period = req.params["period"]
        if period not in PERIODS:
            raise GraphError(400, "BadRequest", f"Invalid period '{period}': use one of {', '.join(PERIODS)}.")
        function = req.params["function"]
        date = reports.refresh_date(function)
        token = emu.codec.encode(
            {"f": function, "d": date.isoformat(), "p": period, "x": int(time.time()) + DOWNLOAD_SECONDS}
        )
        location = f"{download_base(emu.base_url)}/_reports/download/{token}"
        return Response(302, b"", [("Location", location)], content_type="text/plain")

    def download(req: Request) -> Response:
        if req.header("authorization"):
            raise GraphError(
                400,
                "InvalidAuthenticationInfo",
                "A pre-authenticated download URL takes no Authorization header: the request carried one.",
            )
        grant = emu.codec.decode(req.params["token"])
        if grant is None or grant.get("f") not in REPORTS:
            raise GraphError(403, "AuthenticationFailed", "The download URL is not valid.")
        if float(grant.get("x", 0)) < time.time():
            raise GraphError(403, "AuthenticationFailed", "The download URL has expired: ask the report again.")
        body = reports.csv(str(grant["f"]), dt.date.fromisoformat(str(grant["d"])), str(grant["p"]))
        return Response(200, body, content_type="application/octet-stream")

    def settings(req: Request) -> Response:
        try:
            body = orjson.loads(req.body or b"{}")
        except orjson.JSONDecodeError:
            raise GraphError(400, "BadRequest", "body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("concealed", False), bool):
            raise GraphError(400, "BadRequest", 'body must be {"concealed": true|false}')
        if "concealed" in body:
            reports.set_concealed(body["concealed"])
        dates = {f: reports.refresh_date(f).isoformat() for f in REPORTS}
        return emu.json_response({"concealed": reports.concealed, "refreshDates": dates})

    r.add("GET", r"/_reports/download/(?P<token>[^/]+)", download, name="report_download", kind="download")
    r.add("POST", r"/_emulator/reports", settings, name="admin_reports", kind="admin")

    def advancer(function: str) -> Callable[[str, int, random.Random], list[str]]:
        table = REPORTS[function].table

        def mutate(op: str, count: int, rng: random.Random) -> list[str]:
            if op == "advance":  # a new refresh date: the next download is a new snapshot
                return [reports.advance(function, max(1, count)).isoformat()]
            if op == "recompute":  # the same refresh date computed again from the tenant of now
                return [reports.recompute(function).isoformat()]
            raise GraphError(400, "BadRequest", f"{table}: ops are 'advance' (a new refresh date) and 'recompute'")

        return mutate

    for function, spec in REPORTS.items():
        emu.add_truth(spec.table, lambda f=function: reports.ids(f))
        emu.add_mutator(spec.table, advancer(function))
