"""JSON batching: POST /v1.0/$batch (up to 20 requests, dependsOn, answers in any order).

Inner JSON bodies are spliced into the envelope as the bytes the route produced (not decoded and re-encoded).
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

import orjson

from ..latency import batch_seconds
from ..odata import dumps
from ..router import GRAPH_PREFIX, GraphError, Request, Response, parse_query

if TYPE_CHECKING:
    from ..core import Emulator

MAX_REQUESTS = 20


def register(emu: Emulator) -> None:
    """Add the $batch route."""

    @emu.router.graph("POST", r"/(?:\$|%24)batch", name="batch", kind="graph")
    def batch(req: Request) -> Response:
        try:
            doc = orjson.loads(req.body or b"{}")
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Unable to deserialize the batch request body.") from exc
        reqs = doc.get("requests") if isinstance(doc, dict) else None
        if not isinstance(reqs, list) or not reqs:
            raise GraphError(400, "BadRequest", "Batch request must contain a non-empty 'requests' array.")
        if len(reqs) > MAX_REQUESTS:
            raise GraphError(400, "BadRequest", f"Batch request cannot contain more than {MAX_REQUESTS} requests.")
        ids = [str(r.get("id", "")) if isinstance(r, dict) else "" for r in reqs]
        if any(not i for i in ids):
            raise GraphError(400, "BadRequest", "Every request in a batch needs an 'id'.")
        if len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request contains duplicate request ids.")
        for r in reqs:
            for dep in r.get("dependsOn") or []:
                if str(dep) not in ids or ids.index(str(dep)) >= ids.index(str(r["id"])):
                    raise GraphError(400, "BadRequest", f"Request '{r['id']}' depends on an unknown or later id.")
        status: dict[str, int] = {}
        answers: list[bytes] = []
        timing: list[tuple[float, bool, list[int]]] = []  # each inner answer's latency, for the batch's own
        for r in reqs:
            rid = str(r["id"])
            depends = [ids.index(str(d)) for d in r.get("dependsOn") or []]
            failed = [d for d in r.get("dependsOn") or [] if status.get(str(d), 500) >= 400]
            if failed:
                status[rid] = 424
                answers.append(_answer(rid, 424, {}, _err("FailedDependency", "A dependent request failed.")))
                timing.append((0.0, False, depends))
                continue
            code, answer, inner = _run_inner(emu, req, r)
            status[rid] = code
            answers.append(answer)
            timing.append((inner.delay, inner.outlook, depends))
        random.Random(req.request_id).shuffle(answers)
        body = b'{"responses":[' + b",".join(answers) + b"]}"
        resp = Response(200, body, content_type="application/json; charset=utf-8")
        resp.delay = batch_seconds(timing)
        return resp


def _err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _answer(rid: str, status: int, headers: dict[str, str], body: Any) -> bytes:
    """One answer's JSON (id, status, headers[, body]); body is decoded JSON, or `Raw` JSON bytes to splice."""
    head = dumps({"id": rid, "status": status, "headers": headers})
    if body is None:
        return head
    return head[:-1] + b',"body":' + (body.data if isinstance(body, Raw) else dumps(body)) + b"}"


class Raw:
    """JSON bytes a route produced, spliced into the envelope unchanged."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Inner:
    """What the batch's latency needs of one inner answer: its modelled seconds, and whether Outlook ran it."""

    __slots__ = ("delay", "outlook")

    def __init__(self, delay: float = 0.0, outlook: bool = False) -> None:
        self.delay = delay
        self.outlook = outlook


def _run_inner(emu: Emulator, outer: Request, r: dict[str, Any]) -> tuple[int, bytes, Inner]:
    """(status, answer JSON, timing) of one inner request."""
    rid = str(r["id"])
    method = str(r.get("method", "")).upper()
    url = str(r.get("url", ""))
    if not method or not url or url.lower().startswith(("http:", "https:")):
        bad = _err("BadRequest", "Each batch request needs a method and a relative url.")
        return 400, _answer(rid, 400, {}, bad), Inner()
    path, _, raw_q = ("/" + url.lstrip("/")).partition("?")
    if path.startswith(GRAPH_PREFIX + "/"):
        path = path[len(GRAPH_PREFIX) :]
    headers = {k.lower(): str(v) for k, v in (r.get("headers") or {}).items()}
    headers.setdefault("authorization", outer.header("authorization"))
    body = r.get("body")
    raw_body = b"" if body is None else (body.encode() if isinstance(body, str) else dumps(body))
    inner = Request(method, GRAPH_PREFIX + path, parse_query(raw_q), headers, raw_body, raw_query=raw_q, in_batch=True)
    resp = emu.handle(inner)
    timing = Inner(resp.delay, inner.route is not None and inner.route.kind == "outlook")
    hdrs = {k: v for k, v in resp.headers if k.lower() in ("retry-after", "location", "preference-applied")}
    hdrs["Content-Type"] = resp.content_type.split(";")[0] if resp.body else "text/plain"
    parsed: Any = None
    if resp.body and resp.content_type.startswith("application/json"):
        parsed = Raw(resp.body)  # routes render JSON bytes: no need to decode and re-encode them
    elif resp.body:
        try:
            parsed = json.loads(resp.body)
        except ValueError:
            parsed = resp.body.decode("utf-8", "replace")
    return resp.status, _answer(rid, resp.status, hdrs, parsed), timing
