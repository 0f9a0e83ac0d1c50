"""Places routes (Outlook's rooms API): ``places/microsoft.graph.room``, ``places/microsoft.graph.roomlist`` and
``places/{room-list-email}/microsoft.graph.roomlist/rooms``. Truth: ``rooms``, ``room_lists``.

Graph pages them 100 per page by default, with ``$top`` and ``$skip`` (place-list docs); the type cast is
case-insensitive (the docs write ``roomlist``, the schema ``roomList``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..odata import Shape, dumps
from ..paging import list_page
from ..router import SEG, GraphError, Request, Response
from ..tenant_places import Places
from ..workload_http import CTX

if TYPE_CHECKING:
    from ..core import Emulator

ROOM = Shape("microsoft.graph.room", None, "graph")
ROOM_LIST = Shape("microsoft.graph.roomList", None, "graph")
_ROOM = r"(?i:microsoft\.graph\.room)"
_ROOM_LIST = r"(?i:microsoft\.graph\.roomlist)"


def register(emu: Emulator) -> None:
    """Add the Places routes, their truth and their mutations."""
    places = Places(emu.directory.seed, emu.directory.domain, emu.scale.name)
    r = emu.router

    def page(req: Request, scope: str, items: list[dict], shape: Shape, context: str) -> Response:
        if "$filter" in req.query:
            raise GraphError(400, "BadRequest", "The emulator does not evaluate $filter on places.")
        select = shape.parse_select(req.query.get("$select"), items[0] if items else None)
        return list_page(
            req,
            emu,
            scope=scope,
            rendered=[dumps(shape.project(it, select)) for it in items],
            context=context,
            default=100,
            maximum=1000,
            family="graph",
            style="skip",
        )

    @r.graph("GET", rf"/places/{_ROOM}", name="rooms", kind="graph")
    def rooms(req: Request) -> Response:
        return page(req, "rooms", list(places.rooms), ROOM, CTX + "places/microsoft.graph.room")

    @r.graph("GET", rf"/places/{_ROOM_LIST}", name="room_lists", kind="graph")
    def room_lists(req: Request) -> Response:
        return page(req, "roomlists", list(places.room_lists), ROOM_LIST, CTX + "places/microsoft.graph.roomList")

    @r.graph("GET", rf"/places/(?P<email>{SEG})/{_ROOM_LIST}/rooms", name="room_list_rooms", kind="graph")
    def room_list_rooms(req: Request) -> Response:
        room_list = places.room_list(req.params["email"])
        context = CTX + f"places('{room_list['emailAddress']}')/microsoft.graph.roomList/rooms"
        return page(req, f"roomlist:{room_list['id']}", places.rooms_of(room_list), ROOM, context)

    emu.add_truth("rooms", lambda: [room["id"] for room in places.rooms])
    emu.add_truth("room_lists", lambda: [item["id"] for item in places.room_lists])
    emu.add_mutator("rooms", places.mutate_rooms)
    emu.add_mutator("room_lists", places.mutate_room_lists)
