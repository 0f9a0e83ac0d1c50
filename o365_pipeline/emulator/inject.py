"""Injected answers: rules that replace or patch what Graph routes answer, for odd-but-legal or hostile cases.

A rule matches a Graph request (also one inside `$batch`) by a regex searched in its path and query as sent
(`/v1.0/users/delta?$select=id`). With `body` it replaces the answer (status, body, content type, headers);
without it the route answers and the rule patches that answer (status, content type, headers, `item_patch` on
the first items of a collection page). `times` limits how often a rule applies (None: always).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .odata import dumps
from .router import Request, Response

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false"
TEXT_TYPE = "text/plain; charset=utf-8"
_RULE_KEYS = {"path", "method", "status", "body", "content_type", "headers", "times", "item_patch"}
_PATCH_KEYS = {"first", "set", "remove", "as_text"}


class RuleError(ValueError):
    """A rule that cannot be used (the admin route answers 400 with this text)."""


@dataclass
class ItemPatch:
    """Changes to the items of a collection page's `value`: the first `first` items (None: all)."""

    first: int | None = None
    set: dict[str, Any] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    as_text: list[str] = field(default_factory=list)  # present values sent as JSON text: true -> "true", 3 -> "3"

    def apply(self, items: list[Any]) -> None:
        """Patch the items in place (non-object items are left alone)."""
        for item in items[: self.first] if self.first is not None else items:
            if isinstance(item, dict):
                self._patch_one(item)

    def _patch_one(self, item: dict[str, Any]) -> None:
        for name in self.remove:
            item.pop(name, None)
        for name in self.as_text:
            if item.get(name) is not None:
                item[name] = _as_text(item[name])
        item.update(self.set)


def _as_text(value: Any) -> str:
    """A value as Graph-like text: booleans lower case, numbers as written, strings unchanged."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


_KEEP = object()  # marks "no body given: the route answers"


@dataclass
class Rule:
    """One injection rule with its counters."""

    path: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    body: Any = _KEEP
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    item_patch: ItemPatch | None = None
    hits: int = 0

    @property
    def replaces(self) -> bool:
        """True when the rule gives the whole answer (the route is not called)."""
        return self.body is not _KEEP

    def matches(self, req: Request) -> bool:
        """Does this rule apply to the request (and has it uses left)?"""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != req.method:
            return False
        return self.path.search(request_target(req)) is not None

    def respond(self, req: Request, route: Callable[[Request], Response]) -> Response:
        """The answer for a matched request: the rule's own, or the route's patched."""
        if self.replaces:
            return self._own_answer()
        return self._patched(route(req))

    def _own_answer(self) -> Response:
        if isinstance(self.body, str):
            body, default_type = self.body.encode(), TEXT_TYPE
        else:
            body, default_type = dumps(self.body), JSON_TYPE
        status = self.status if self.status is not None else 200
        return Response(status, body, list(self.headers.items()), self.content_type or default_type)

    def _patched(self, resp: Response) -> Response:
        if self.status is not None:
            resp.status = self.status
        if self.content_type is not None:
            resp.content_type = self.content_type
        resp.headers.extend(self.headers.items())
        if self.item_patch is not None:
            resp.body = _patch_page(resp.body, self.item_patch)
        return resp

    def describe(self) -> dict[str, Any]:
        """The rule as the admin route shows it (with hits so far)."""
        out: dict[str, Any] = {"path": self.path.pattern, "method": self.method, "times": self.times}
        out.update({"hits": self.hits, "replaces": self.replaces, "status": self.status})
        return out


def _patch_page(body: bytes, patch: ItemPatch) -> bytes:
    """The page with its items patched; a body that is not a collection page is returned unchanged."""
    try:
        page = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(page, dict) or not isinstance(page.get("value"), list):
        return body
    patch.apply(page["value"])
    return dumps(page)


def request_target(req: Request) -> str:
    """Path and query as the client sent them (what a rule's `path` regex is searched in)."""
    return f"{req.path}?{req.raw_query}" if req.raw_query else req.path


def parse_rule(spec: Any) -> Rule:
    """A Rule from its JSON form; RuleError names what is wrong."""
    if not isinstance(spec, dict):
        raise RuleError("each rule must be a JSON object")
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise RuleError(f"unknown rule keys {sorted(unknown)}; known: {sorted(_RULE_KEYS)}")
    try:
        path = re.compile(str(spec["path"]))
    except KeyError as exc:
        raise RuleError("a rule needs 'path' (a regex searched in the request path and query)") from exc
    except re.error as exc:
        raise RuleError(f"path is not a regex: {exc}") from exc
    return Rule(
        path=path,
        method=str(spec["method"]).upper() if spec.get("method") else None,
        status=_optional_int(spec, "status"),
        body=spec["body"] if "body" in spec else _KEEP,
        content_type=str(spec["content_type"]) if spec.get("content_type") else None,
        headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
        times=_optional_int(spec, "times"),
        item_patch=_parse_patch(spec.get("item_patch")),
    )


def _parse_patch(spec: Any) -> ItemPatch | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - _PATCH_KEYS:
        raise RuleError(f"item_patch must be an object with keys among {sorted(_PATCH_KEYS)}")
    return ItemPatch(
        first=_optional_int(spec, "first"),
        set=dict(spec.get("set") or {}),
        remove=[str(n) for n in spec.get("remove") or []],
        as_text=[str(n) for n in spec.get("as_text") or []],
    )


def _optional_int(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(f"{key} must be a non-negative integer or null, got {value!r}")
    return value


class Injector:
    """The active rules (thread-safe); the first matching rule with uses left applies."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def set(self, specs: list[Any]) -> None:
        """Replace every rule (an empty list clears them); nothing changes when one spec is wrong."""
        rules = [parse_rule(s) for s in specs]
        with self._lock:
            self._rules = rules

    def describe(self) -> list[dict[str, Any]]:
        """Every rule with its hits."""
        with self._lock:
            return [r.describe() for r in self._rules]

    def take(self, req: Request) -> Rule | None:
        """The rule for this request, counting the use; None when no rule applies."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(req):
                    rule.hits += 1
                    return rule
        return None
