"""Admin routes under /_emulator (no token): truth, mutate, stats, faults."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import TYPE_CHECKING, Any

from ..odata import IMMUTABLE, REGULAR
from ..router import GraphError, Request, Response

if TYPE_CHECKING:
    from ..core import Emulator


def _body(req: Request) -> dict[str, Any]:
    try:
        out = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "body is not JSON") from exc
    if not isinstance(out, dict):
        raise GraphError(400, "BadRequest", "body must be a JSON object")
    return out


def register(emu: Emulator) -> None:
    """Add the /_emulator routes."""
    r = emu.router

    def truth(req: Request) -> Response:
        id_type = req.query.get("idType", IMMUTABLE)
        if id_type not in (IMMUTABLE, REGULAR):
            raise GraphError(400, "BadRequest", f"idType must be {IMMUTABLE} or {REGULAR}, not {id_type!r}")
        return emu.json_response(emu.truth(id_type))

    def mutate(req: Request) -> Response:
        body = _body(req)
        seed = body.get("seed", 0)
        ops = body.get("ops", [])
        if not isinstance(ops, list):
            raise GraphError(400, "BadRequest", "ops must be a list")
        changes: list[dict[str, Any]] = []
        for i, op in enumerate(ops):
            entity, kind, count = op.get("entity"), op.get("op"), int(op.get("count", 1))
            fn = emu.mutators.get(str(entity))
            if fn is None:
                raise GraphError(
                    400, "BadRequest", f"unknown entity {entity!r}; known: {', '.join(sorted(emu.mutators))}"
                )
            rng = random.Random(f"mutate:{seed}:{i}:{emu.clock.now}")
            ids = fn(str(kind), count, rng)
            changes.append({"entity": entity, "op": kind, "count": len(ids), "ids": ids})
        return emu.json_response({"seq": emu.clock.now, "changes": changes})

    def stats(req: Request) -> Response:
        snap = emu.stats.snapshot()
        mb = emu.mailboxes
        if mb is not None:
            snap["warm"] = {"state": mb.warm_state, "messages": mb.warm_items}
        return emu.json_response(snap)

    def stats_reset(req: Request) -> Response:
        emu.stats.reset()
        return emu.json_response({"ok": True})

    def faults(req: Request) -> Response:
        try:
            emu.faults.set(_body(req))
        except ValueError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from exc
        return emu.json_response({"faults": emu.faults.rates})

    def throttle(req: Request) -> Response:
        t = emu.throttle
        if req.method == "POST":
            body = _body(req)
            known = {f.name for f in dataclasses.fields(t.config)} - {"extra"}
            for k, v in body.items():
                if k == "enabled":
                    t.enabled = bool(v)
                elif k in known:
                    setattr(t.config, k, type(getattr(t.config, k))(v))
                else:
                    raise GraphError(
                        400, "BadRequest", f"unknown throttle setting {k!r}; known: enabled, {sorted(known)}"
                    )
        cfg = {k: v for k, v in dataclasses.asdict(t.config).items() if k != "extra"}
        return emu.json_response({"enabled": t.enabled, **cfg})

    r.add("GET", r"/_emulator/throttle", throttle, name="admin_throttle", kind="admin")
    r.add("POST", r"/_emulator/throttle", throttle, name="admin_throttle", kind="admin")
    r.add("GET", r"/_emulator/truth", truth, name="admin_truth", kind="admin")
    r.add("POST", r"/_emulator/mutate", mutate, name="admin_mutate", kind="admin")
    r.add("GET", r"/_emulator/stats", stats, name="admin_stats", kind="admin")
    r.add("POST", r"/_emulator/stats/reset", stats_reset, name="admin_stats_reset", kind="admin")
    r.add("POST", r"/_emulator/faults", faults, name="admin_faults", kind="admin")
