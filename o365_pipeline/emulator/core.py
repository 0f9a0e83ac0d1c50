"""The emulator core: tenant state, router and the request pipeline (auth, throttling, faults, errors).

HTTP-free: server.py feeds it Request objects; $batch feeds it inner requests the same way.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import permissions
from .identity import APP_ROLES, IdentityProvider
from .inject import Injector
from .latency import Latency, LatencyModel, items_in
from .odata import IMMUTABLE, SeqClock, TokenCodec, dumps, error_body
from .router import GRAPH_PREFIX, GraphError, RawError, Request, Response, Route, Router
from .scales import get_scale
from .tenant import Directory
from .throttle import Faults, Stats, Throttle

GRAPH_KINDS = ("directory", "outlook", "graph")
# what /_emulator/inject may answer for: Graph, and the pre-authenticated downloads Graph redirects to
INJECTABLE_KINDS = (*GRAPH_KINDS, "download")
TruthFn = Callable[[], Iterable[str] | dict[str, Any]]
MutateFn = Callable[[str, int, random.Random], list[str]]


class Emulator:
    """All tenant state and the request pipeline. Route modules register through `register(emu)`."""

    def __init__(
        self,
        *,
        seed: int = 3,
        scale: str = "small",
        users: int | None = None,
        throttle: bool = False,
        faults: dict[str, float] | None = None,
        scheme: str = "AzureServicePrincipal",
        latency: LatencyModel | None = None,
    ) -> None:
        if users is not None and users < 1:
            raise ValueError(f"--users: must be at least 1, got {users}")
        self.seed = seed
        self.scale = get_scale(scale)
        self.scheme = scheme
        self.base_url = "https://127.0.0.1:0"
        self.clock = SeqClock()
        self.codec = TokenCodec(secrets.token_bytes(32))
        self.router = Router()
        self.stats = Stats()
        self.faults = Faults(faults, seed)
        self.throttle = Throttle(throttle)
        self.inject = Injector()
        self.latency = Latency(latency or LatencyModel(), seed)
        self.directory = Directory(seed, self.scale, self.clock, users)
        self.identity = IdentityProvider(
            seed=seed, tenant_id=self.directory.tenant_id, tenant_domain=self.directory.domain
        )
        self.truth_providers: dict[str, TruthFn] = {}
        self.mutators: dict[str, MutateFn] = {}
        self.mailboxes: Any = None  # MailboxStore, set by routes/outlook.py
        # set to a function to see every answer (inner $batch ones too) with its request: conformance tests
        self.recorder: Callable[[Request, Response], None] | None = None
        self.identity.register(self.router, self)
        self._load_route_modules()

    # ---- extension points ---------------------------------------------------------------------
    def add_truth(self, table: str, fn: TruthFn) -> None:
        """Register the id source of a raw table for /_emulator/truth (per-user ids as 'user_id/id').

        fn may also return a ready {"count", "ids_sha256"} dict (e.g. memoized while nothing changed). A fn with an
        ``id_typed`` attribute set takes the Outlook id type asked (``immutable`` or ``regular``).
        """
        self.truth_providers[table] = fn

    def add_mutator(self, entity: str, fn: MutateFn) -> None:
        """Register fn(op, count, rng) -> changed ids for /_emulator/mutate (op: create|update|delete...)."""
        self.mutators[entity] = fn

    def _load_route_modules(self) -> None:
        from . import routes

        for mod in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: (m.name != "directory", m.name)):
            module = importlib.import_module(f"{routes.__name__}.{mod.name}")
            register = getattr(module, "register", None)
            if callable(register):
                register(self)

    # ---- request pipeline ----------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """Answer one request (never raises for request errors)."""
        started = time.monotonic()
        req.request_id = _request_id()
        client_rid = req.header("client-request-id")
        mailbox: str | None = None
        slot = False
        route_name = "unmatched"
        throttled = False
        try:
            route, params = self.router.match(req.method, req.path)
            req.route, req.params = route, params
            route_name = route.name
            if route.kind in GRAPH_KINDS:
                claims, why = self.identity.validate_bearer(req.header("authorization"))
                if claims is None or self.faults.hit("expire_token"):
                    if claims is not None:
                        self.stats.fault("expire_token")
                    raise _auth_error(why or "expired")
                req.claims = claims
                permissions.check(route.name, route.kind, claims, APP_ROLES)
                if route.kind == "outlook" and "user" in params:
                    u = self.directory.find_user(params["user"])
                    mailbox = u["id"] if u else params["user"].lower()
                cost = route.cost - (1 if "$select" in req.query and route.cost > 1 else 0)
                wait, slot = self.throttle.acquire(route.kind, mailbox, cost)
                if wait:
                    throttled = True
                    raise _throttled(f"{wait:.3f}")
                if self.faults.hit("429"):
                    self.stats.fault("429")
                    throttled = True
                    raise _throttled(self.faults.retry_after())
                if self.faults.hit("503"):
                    self.stats.fault("503")
                    raise GraphError(
                        503,
                        "serviceNotAvailable",
                        "The service is temporarily unavailable. Please retry later.",
                        [("Retry-After", "1")],
                    )
                if self.faults.hit("504"):  # a gateway timeout: no Retry-After, the client backs off itself
                    self.stats.fault("504")
                    raise GraphError(504, "GatewayTimeout", "The gateway did not receive a timely response.")
            resp = self._answer(req, route)
            if route.kind in GRAPH_KINDS:
                if self.faults.hit("reset"):
                    self.stats.fault("reset")
                    resp.fault = "reset"
                elif self.faults.hit("truncate"):
                    self.stats.fault("truncate")
                    resp.fault = "truncate"
        except GraphError as err:
            resp = Response(err.status, error_body(err.code, err.message, req.request_id, client_rid), err.headers)
        except RawError as err:
            resp = Response(err.status, json.dumps(err.body).encode(), err.headers, "application/json; charset=utf-8")
        except Exception as exc:  # a bug in a route: answer 500 like Graph would, keep the connection usable
            print(f"emulator: {req.method} {req.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            body = error_body("InternalServerError", "An internal server error occurred.", req.request_id, client_rid)
            resp = Response(500, body)
        try:
            if self.latency.model.enabled and req.path.startswith(GRAPH_PREFIX):
                resp = self._delay(req, resp, started, mailbox, client_rid)
        finally:  # the mailbox's concurrency slot is held while the answer is "on its way", as in Graph
            if slot and mailbox:
                self.throttle.release(mailbox)
        resp.headers.append(("request-id", req.request_id))
        resp.headers.append(("client-request-id", client_rid or req.request_id))
        self.stats.record(route_name, resp.status, len(resp.body), throttled)
        if self.recorder is not None:
            self.recorder(req, resp)
        return resp

    def _answer(self, req: Request, route: Route) -> Response:
        """The route's answer, or what an injected rule (POST /_emulator/inject) makes of it."""
        rule = self.inject.take(req) if route.kind in INJECTABLE_KINDS else None
        return route.handler(req) if rule is None else rule.respond(req, route.handler)

    def _delay(self, req: Request, resp: Response, started: float, mailbox: str | None, rid: str) -> Response:
        """Apply the latency model: a 504 when too slow, else wait out the modelled time (inner $batch
        requests only note it: the batch schedules them)."""
        if req.route_is_batch:  # the batch's own schedule of its inner answers (each checked for 504 alone)
            seconds = resp.delay
        else:
            selected = resp.selected if resp.selected is not None else "$select" in req.query
            # full payloads are heavier for Outlook items (bodies), which Microsoft's 504 warning is about
            full = not selected and req.route is not None and req.route.kind == "outlook"
            seconds = self.latency.seconds(items_in(resp.status, resp.body), selected=not full)
        if self.latency.timed_out(seconds) and not req.route_is_batch:
            self.stats.fault("latency_504")
            seconds = self.latency.timeout_seconds
            message = "The gateway did not receive a timely response."
            resp = Response(504, error_body("GatewayTimeout", message, req.request_id, rid))
        resp.delay = seconds
        self.stats.delayed(mailbox, seconds)
        if not req.in_batch:
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        return resp

    # ---- admin helpers ------------------------------------------------------------------------
    def truth(self, id_type: str = IMMUTABLE) -> dict[str, Any]:
        """{"entities": {table: {"count", "ids_sha256"}}} of the current state, Outlook items' ids in ``id_type``
        (immutable: what the pipeline stores by default)."""
        from .odata import ids_digest

        out: dict[str, Any] = {}
        for name, fn in sorted(self.truth_providers.items()):
            res = fn(id_type) if getattr(fn, "id_typed", False) else fn()
            out[name] = res if isinstance(res, dict) else ids_digest(res)
        return {"entities": out}

    def json_response(self, obj: Any, status: int = 200) -> Response:
        """A plain JSON answer."""
        return Response(status, dumps(obj), content_type="application/json; charset=utf-8")


def _request_id() -> str:
    """A random (version 4) GUID, as uuid.uuid4() formats it, without building a UUID object."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_CHALLENGE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'error="invalid_token"'
)


def _auth_error(why: str) -> GraphError:
    if why == "missing":
        msg = "Access token is empty."
    elif why == "expired":
        msg = "Access token has expired or is not yet valid."
    else:
        msg = "Access token validation failure. Invalid audience." if why == "audience" else "Invalid token."
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        msg,
        [
            (
                "WWW-Authenticate",
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                'error="invalid_token"',
            )
        ],
    )


def _throttled(retry_after: str) -> GraphError:
    return GraphError(
        429,
        "TooManyRequests",
        "Too many requests. Retry after the given delay.",
        [("Retry-After", retry_after)],
    )
