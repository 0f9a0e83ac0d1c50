"""Admin route /_emulator/latency (no token): read or set the latency model (latency.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..latency import model_from_dict
from ..router import GraphError, Request, Response
from .admin import _body

if TYPE_CHECKING:
    from ..core import Emulator


def register(emu: Emulator) -> None:
    """Add GET/POST /_emulator/latency."""

    def latency(req: Request) -> Response:
        if req.method == "POST":
            try:
                emu.latency.set(model_from_dict(_body(req)))
            except ValueError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from exc
        return emu.json_response(emu.latency.model.as_dict())

    emu.router.add("GET", r"/_emulator/latency", latency, name="admin_latency", kind="admin")
    emu.router.add("POST", r"/_emulator/latency", latency, name="admin_latency", kind="admin")
