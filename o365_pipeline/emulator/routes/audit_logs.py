"""Audit log routes: ``/auditLogs/directoryAudits`` and ``/auditLogs/signIns``.

Newest first; `$filter` on ``activityDateTime`` / ``createdDateTime`` with ge/gt/le/lt/eq joined by
``and``; `$top` 1..1000 (default and maximum page size 1,000, as documented); opaque `$skiptoken`
nextLinks that repeat the query. `mutate` ``create`` appends events newer than all others.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..odata import Shape, dumps
from ..paging import page_body, page_size
from ..permissions import CA_DATA, granted
from ..router import GraphError, Request, Response
from ..tenant_audit import EventLog
from ..workload_http import CTX, same_query_link
from ..workload_kit import parse_datetime_ticks, parse_time_filter
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

PAGE = 1000
SHAPES = {
    "directoryAudits": Shape("microsoft.graph.directoryAudit", None, "graph"),
    "signIns": Shape("microsoft.graph.signIn", None, "graph"),
}


def register(emu: Emulator) -> None:
    """Add the audit log routes, their truth sources and ``create`` mutators."""
    wl = workloads_for(emu)
    r = emu.router

    def listing(req: Request, log: EventLog) -> Response:
        size = page_size(req, default=PAGE, maximum=PAGE, family="graph")
        prop = log.time_property
        try:
            window = parse_time_filter(req.query.get("$filter"), prop)
        except ValueError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from None
        raw = req.query.get("$skiptoken")
        if raw is not None:
            p = emu.codec.decode(raw)
            if p is None or p.get("r") != log.kind:
                raise GraphError(400, "BadRequest", "The $skiptoken is invalid: follow @odata.nextLink verbatim.")
            window = window.narrowed(int(p["b"]) - 1)
        events, more = log.page(window, size)
        if log.kind == "signIns" and not (granted(req.claims or {}) or set()) & set(CA_DATA):
            # "returned only for callers with privileges to read conditional access data" (signIn docs)
            events = [{**event, "appliedConditionalAccessPolicies": []} for event in events]
        shape = SHAPES[log.kind]
        select = shape.parse_select(req.query.get("$select"), events[0] if events else None)
        values = [dumps(shape.project(e, select)) for e in events]
        extra = []
        if more:
            token = emu.codec.encode({"r": log.kind, "b": parse_datetime_ticks(events[-1][prop])})
            extra.append(("@odata.nextLink", same_query_link(emu, req, ("$skiptoken",), [("$skiptoken", token)])))
        return Response(200, page_body(CTX + f"auditLogs/{log.kind}", values, extra))

    @r.graph("GET", r"/auditLogs/(?i:directoryAudits)", name="directory_audits", kind="graph")
    def directory_audits(req: Request) -> Response:
        return listing(req, wl.directory_audits)

    @r.graph("GET", r"/auditLogs/(?i:signIns)", name="sign_ins", kind="graph")
    def sign_ins(req: Request) -> Response:
        return listing(req, wl.sign_ins)

    def creator(log: EventLog, entity: str) -> Callable[[str, int, random.Random], list[str]]:
        def mutate(op: str, count: int, rng: random.Random) -> list[str]:
            if op != "create":
                raise GraphError(400, "BadRequest", f"{entity}: only op 'create' is supported (audit logs append)")
            return log.create(count)

        return mutate

    emu.add_truth("directory_audits", wl.directory_audits.ids)
    emu.add_truth("sign_ins", wl.sign_ins.ids)
    emu.add_mutator("directory_audits", creator(wl.directory_audits, "directory_audits"))
    emu.add_mutator("sign_ins", creator(wl.sign_ins, "sign_ins"))
