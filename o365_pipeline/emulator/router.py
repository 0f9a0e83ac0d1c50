"""Request/response types and a small router: method + path regex -> handler."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

GRAPH_PREFIX = "/v1.0"


@dataclass
class Request:
    """One HTTP request as the handlers see it (headers lower-cased, path params unquoted)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    route: Route | None = None
    claims: dict[str, Any] | None = None
    request_id: str = ""
    raw_query: str = ""
    in_batch: bool = False  # an inner request of $batch: its latency is scheduled by the batch, not slept

    def header(self, name: str, default: str = "") -> str:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    @property
    def route_is_batch(self) -> bool:
        """Is this the $batch envelope itself?"""
        return self.route is not None and self.route.name == "batch"


@dataclass
class Response:
    """What a handler returns: status, extra headers and the body bytes."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false"
    # set by the fault layer: "reset" closes the connection, "truncate" sends half the body
    fault: str = ""
    delay: float = 0.0  # modelled Graph latency in seconds (latency.py); $batch sets its own from its inner ones
    selected: bool | None = None  # the page was rendered with a $select (None: as the request's query says)


class GraphError(Exception):
    """A Graph-style error answer; rendered as {"error": {"code", "message", "innerError"}}."""

    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


class RawError(Exception):
    """An error whose JSON body is given as is (identity endpoints use their own error shape)."""

    def __init__(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None):
        super().__init__(f"{status}")
        self.status = status
        self.body = body
        self.headers = headers or []


Handler = Callable[[Request], Response]


@dataclass
class Route:
    """A registered route. kind: 'directory', 'outlook', 'graph' (token checked), 'identity', 'admin'."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    kind: str
    cost: int = 1


_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<\w+>")


class Router:
    """Routes by method and full-match path regex; named groups become Request.params (percent-decoded).

    The first route (in registration order) whose pattern matches wins. Matching runs one alternation of every
    route's pattern per method (the regex engine tries them in order), not one regex call per route.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_method: dict[str, re.Pattern[str]] | None = None
        self._any: re.Pattern[str] | None = None

    def add(self, method: str, pattern: str, handler: Handler, *, name: str, kind: str, cost: int = 1) -> None:
        """Register a route. Graph routes ('directory'/'outlook'/'graph') get the /v1.0 prefix."""
        if kind in ("directory", "outlook", "graph"):
            pattern = re.escape(GRAPH_PREFIX) + pattern
        self.routes.append(Route(method.upper(), re.compile(pattern), handler, name, kind, cost))
        self._by_method = self._any = None

    def graph(
        self, method: str, pattern: str, *, name: str, kind: str = "graph", cost: int = 1
    ) -> Callable[[Handler], Handler]:
        """Decorator form of add() for Graph routes."""

        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn, name=name, kind=kind, cost=cost)
            return fn

        return deco

    def _alternations(self) -> tuple[dict[str, re.Pattern[str]], re.Pattern[str]]:
        """Per method, and for any method: one regex whose group ``r<index>`` names the matching route."""
        if self._by_method is None or self._any is None:
            parts: dict[str, list[str]] = {}
            for i, route in enumerate(self.routes):
                alternative = f"(?P<r{i}>{_NAMED_GROUP.sub('(?:', route.pattern.pattern)})"
                parts.setdefault(route.method, []).append(alternative)
                parts.setdefault("", []).append(alternative)
            self._any = re.compile("|".join(parts.pop("", [])) or "(?!)")
            self._by_method = {method: re.compile("|".join(alts)) for method, alts in parts.items()}
        return self._by_method, self._any

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Find the route for a request path (without query); raise GraphError 404/405."""
        by_method, any_method = self._alternations()
        pattern = by_method.get(method)
        found = pattern.fullmatch(path) if pattern is not None else None
        if found is not None and found.lastgroup is not None:
            route = self.routes[int(found.lastgroup[1:])]
            m = route.pattern.fullmatch(path)
            groups = m.groupdict() if m is not None else {}
            return route, {k: unquote(v) for k, v in groups.items() if v is not None}
        if any_method.fullmatch(path) is not None:
            raise GraphError(405, "Request_BadRequest", f"The HTTP method '{method}' is not allowed.")
        if path.startswith(GRAPH_PREFIX):
            seg = path[len(GRAPH_PREFIX) :].strip("/").split("/")[0]
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{unquote(seg)}'.")
        raise GraphError(404, "NotFound", f"No route for {method} {path}.")


def parse_query(raw: str) -> dict[str, str]:
    """Query string to a dict (last value wins), keeping blank values."""
    if "%" in raw or "+" in raw:
        return dict(parse_qsl(raw, keep_blank_values=True))
    out: dict[str, str] = {}
    for pair in raw.split("&"):  # nothing to unquote: what parse_qsl gives, without its per-pair work
        if pair:
            name, _, value = pair.partition("=")
            out[name] = value
    return out


# Path-segment patterns shared by route modules.
SEG = r"[^/]+"
DELTA = r"(?:delta|delta\(\))"
