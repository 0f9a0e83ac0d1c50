"""Admin routes for injected answers: GET|POST|DELETE /_emulator/inject (no token)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..inject import RuleError
from ..router import GraphError, Request, Response

if TYPE_CHECKING:
    from ..core import Emulator


def _rules_of(req: Request) -> list[Any]:
    """The rule list of a POST body: a JSON list, or an object with a `rules` list."""
    try:
        doc = orjson.loads(req.body or b"[]")
    except orjson.JSONDecodeError as exc:
        raise GraphError(400, "BadRequest", "body is not JSON") from exc
    rules = doc.get("rules") if isinstance(doc, dict) else doc
    if not isinstance(rules, list):
        raise GraphError(400, "BadRequest", 'body must be a list of rules or {"rules": [...]}')
    return rules


def register(emu: Emulator) -> None:
    """Add the /_emulator/inject routes."""

    def show(req: Request) -> Response:
        return emu.json_response({"rules": emu.inject.describe()})

    def replace(req: Request) -> Response:
        try:
            emu.inject.set(_rules_of(req))
        except RuleError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from exc
        return show(req)

    def clear(req: Request) -> Response:
        emu.inject.set([])
        return show(req)

    emu.router.add("GET", r"/_emulator/inject", show, name="admin_inject", kind="admin")
    emu.router.add("POST", r"/_emulator/inject", replace, name="admin_inject", kind="admin")
    emu.router.add("DELETE", r"/_emulator/inject", clear, name="admin_inject", kind="admin")
