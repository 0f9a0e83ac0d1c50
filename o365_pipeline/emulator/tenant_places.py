"""The seeded rooms and room lists of the Places API (``places/microsoft.graph.room``, ``.../roomlist``).

Rooms are Exchange resource mailboxes (their ``emailAddress`` is what a meeting invites as a ``resource``
attendee); room lists group them by building. Both derive from the seed and the tenant's domain, so the
Outlook side (mailbox.py) books the same rooms the Places routes list.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from .router import GraphError
from .tenant import det_uuid

# (room lists, rooms per list) by scale name
_SIZES: dict[str, tuple[int, int]] = {"small": (2, 3), "bench": (4, 5), "large": (8, 10)}
_BUILDINGS = ("Harbour", "Meridian", "Lakeside", "Foundry", "Orchard", "Summit", "Quarry", "Beacon")
_ROOM_NAMES = "Atlas Birch Cedar Delta Ember Fjord Granite Heron Iris Juniper Kestrel Linden".split()
_STREETS = ("1 Harbour Way", "20 Meridian Road", "5 Lakeside Drive", "9 Foundry Lane")
BOOKING_TYPES = ("standard", "reserved")


@dataclass(frozen=True)
class RoomRef:
    """What a meeting needs of a room to book it: its address and name."""

    email: str
    name: str


def seeded_room_lists(seed: int, domain: str, scale: str) -> list[dict[str, Any]]:
    """The tenant's room lists (one per building), as Graph renders them."""
    lists, _ = _SIZES.get(scale, _SIZES["small"])
    out = []
    for b in range(lists):
        building = _BUILDINGS[b % len(_BUILDINGS)]
        out.append(
            {
                "id": det_uuid("roomlist", seed, b),
                "displayName": f"{building} building",
                "emailAddress": f"{building.lower()}-rooms@{domain}",
                "address": _address(b),
                "geoCoordinates": None,
                "phone": None,
                "tags": [],
                "isWheelChairAccessible": None,
                "label": None,
                "placeId": None,
                "parentId": None,
                "_building": b,
            }
        )
    return out


def seeded_rooms(seed: int, domain: str, scale: str) -> list[dict[str, Any]]:
    """The tenant's rooms (``rooms per list`` in each building), as Graph renders them."""
    lists, per_list = _SIZES.get(scale, _SIZES["small"])
    return [_room(seed, domain, b, n) for b in range(lists) for n in range(per_list)]


def bookable_rooms(seed: int, domain: str, scale: str) -> list[RoomRef]:
    """The seeded rooms meetings book (a room deleted later stays booked by the meetings that had it)."""
    return [RoomRef(r["emailAddress"], r["displayName"]) for r in seeded_rooms(seed, domain, scale)]


def _address(b: int) -> dict[str, str]:
    return {
        "street": _STREETS[b % len(_STREETS)],
        "city": "Seattle",
        "state": "WA",
        "postalCode": f"981{b:02d}",
        "countryOrRegion": "United States",
    }


def _room(seed: int, domain: str, b: int, n: int) -> dict[str, Any]:
    rng = random.Random(f"room:{seed}:{b}:{n}")
    building = _BUILDINGS[b % len(_BUILDINGS)]
    name = _ROOM_NAMES[(b * 5 + n) % len(_ROOM_NAMES)]
    floor = rng.randint(1, 6)
    video = rng.random() < 0.6
    return {
        "id": det_uuid("room", seed, b * 1000 + n),
        "emailAddress": f"{building.lower()}-{name.lower()}{n}@{domain}",
        "displayName": f"{building} {name} {floor}.{n:02d}",
        "address": _address(b),
        "geoCoordinates": {"latitude": 47.6 + b / 100, "longitude": -122.3 - n / 100, "altitude": None},
        "phone": f"+1 206 555 {b:02d}{n:02d}",
        "nickname": f"{name} {floor}.{n:02d}",
        "label": f"{floor}.{n:02d}",
        "capacity": rng.choice([4, 6, 8, 12, 20]),
        "building": building,
        "floorNumber": floor,
        "floorLabel": f"Floor {floor}",
        "isWheelChairAccessible": rng.random() < 0.7,
        "bookingType": "reserved" if rng.random() < 0.1 else "standard",
        "tags": rng.sample(["whiteboard", "window", "standing desk", "phone booth"], k=rng.randint(0, 2)),
        "audioDeviceName": "Poly Trio" if video else None,
        "videoDeviceName": "Teams Room camera" if video else None,
        "displayDeviceName": "Surface Hub" if video else None,
        "placeId": None,
        "parentId": None,
        "_building": b,
    }


class Places:
    """The rooms and room lists of one emulated tenant, with their mutations (rooms are rarely added or
    removed; a removed room stays in the meetings that booked it)."""

    def __init__(self, seed: int, domain: str, scale: str) -> None:
        self.seed = seed
        self.domain = domain
        self.scale = scale
        self.room_lists = seeded_room_lists(seed, domain, scale)
        self.rooms = seeded_rooms(seed, domain, scale)
        self._next = 100
        self._lock = threading.Lock()

    def room_list(self, email: str) -> dict[str, Any]:
        """A room list by its email address (Graph addresses room lists by email, not id), or 404."""
        for item in self.room_lists:
            if item["emailAddress"].lower() == email.lower():
                return item
        raise GraphError(404, "ErrorItemNotFound", f"The room list '{email}' was not found.")

    def rooms_of(self, room_list: dict[str, Any]) -> list[dict[str, Any]]:
        """The rooms in a room list (its building)."""
        return [r for r in self.rooms if r["_building"] == room_list["_building"]]

    def mutate_rooms(self, op: str, count: int, rng: random.Random) -> list[str]:
        """create (a new room in a random building) | delete (a random room) | update (capacity)."""
        out: list[str] = []
        with self._lock:
            for _ in range(count):
                if op == "create":
                    b = rng.randrange(len(self.room_lists))
                    room = _room(self.seed, self.domain, b, self._next)
                    self._next += 1
                    self.rooms.append(room)
                    out.append(room["id"])
                elif op in ("delete", "update"):
                    if not self.rooms:
                        break
                    i = rng.randrange(len(self.rooms))
                    if op == "delete":
                        out.append(self.rooms.pop(i)["id"])
                    else:
                        self.rooms[i] = dict(self.rooms[i], capacity=int(self.rooms[i]["capacity"]) + 2)
                        out.append(self.rooms[i]["id"])
                else:
                    raise GraphError(400, "BadRequest", f"unknown op {op!r} for rooms (create|update|delete)")
        return out

    def mutate_room_lists(self, op: str, count: int, rng: random.Random) -> list[str]:
        """create (a new, empty building's list) | delete (a list; its rooms stay, in no list)."""
        out: list[str] = []
        with self._lock:
            for _ in range(count):
                if op == "create":
                    b = len(self.room_lists) + self._next
                    self._next += 1
                    building = f"Annex {b}"
                    item = dict(
                        self.room_lists[0],
                        id=det_uuid("roomlist", self.seed, b),
                        displayName=f"{building} building",
                        emailAddress=f"annex{b}-rooms@{self.domain}",
                        _building=b,
                    )
                    self.room_lists.append(item)
                    out.append(item["id"])
                elif op == "delete":
                    if not self.room_lists:
                        break
                    out.append(self.room_lists.pop(rng.randrange(len(self.room_lists)))["id"])
                else:
                    raise GraphError(400, "BadRequest", f"unknown op {op!r} for room_lists (create|delete)")
        return out
