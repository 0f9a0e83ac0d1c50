"""OneDrive routes: a user's drive, a drive by id, and drive root delta (``token=`` links, ``deleted`` facet).

Delta follows the driveItem delta docs: links carry ``?token=``; the function forms ``delta()`` and
``delta(token='...')`` are accepted; ``token=latest`` answers only a deltaLink; a timestamp token
(``token=2026-11-02T00:00:00Z``) answers the changes since then; an unknown, foreign or
expired token answers 410 ``resyncRequired`` with a ``Location`` header holding a fresh initial URL.
A full round returns current items (root included); later rounds return changed items at their
latest state after their ancestor folders (an item may repeat), deletions with ``"deleted": {}``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..odata import Shape, dumps
from ..paging import page_body, page_size
from ..router import SEG, GraphError, Request, Response
from ..tenant_files import DriveStore, drive_id_for
from ..workload_directory import UserRef
from ..workload_http import CTX, directory_not_found, render_entity
from ..workload_kit import parse_datetime_ticks
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

DRIVE_ITEM = Shape("microsoft.graph.driveItem", None, "graph")
DRIVE = Shape("microsoft.graph.drive", None, "graph")
DRIVE_DELTA = r"(?:delta|delta\(\)|delta\(token='(?P<fntoken>[^']*)'\))"
DEFAULT_PAGE = 200
MAX_PAGE = 1000
RESYNC_MESSAGE = (
    "Resync required. Replace any local items with the server's version (including deletes) if you're sure "
    "that the service was up to date with your local changes when you last sync'd. Upload any local changes "
    "that the server doesn't know about."
)


def register(emu: Emulator) -> None:
    """Add the drive routes, the ``drive_items`` truth source and mutator."""
    store = workloads_for(emu).drives
    sites = workloads_for(emu).sites
    directory = workloads_for(emu).directory
    r = emu.router

    def licensed_user(key: str) -> UserRef:
        user = directory.user(key)
        if user is None:
            raise directory_not_found(key)
        if not user.licensed:
            raise GraphError(404, "ResourceNotFound", "User's mysite not found.")
        return user

    def onedrive_access(req: Request) -> None:
        """A Sites.Selected token reaches no OneDrive (personal sites are not granted to apps here)."""
        if not sites.reads_all(req.claims or {}, files=True):
            raise GraphError(403, "accessDenied", "Access denied")

    def drive_owner(req: Request, drive_id: str) -> tuple[DriveStore, UserRef]:
        """A OneDrive's store and owner, or a document library's (its site's access checked)."""
        found = sites.drive_of(drive_id)  # first: a library id would make the OneDrive store index every user
        if found is None:
            user = store.user_for_drive(drive_id)
            if user is None:
                raise GraphError(404, "itemNotFound", "The resource could not be found.")
            onedrive_access(req)
            return store, user
        site, library = found
        sites.check_access(req.claims or {}, site, files=True)
        return sites.libraries, sites.library_ref(library, site)

    @r.graph("GET", rf"/users/(?P<user>{SEG})/drive", name="user_drive", kind="graph")
    def user_drive(req: Request) -> Response:
        user = licensed_user(req.params["user"])
        onedrive_access(req)
        return render_entity(req, store.drive_resource(user), DRIVE, CTX + "drives/$entity")

    @r.graph("GET", rf"/drives/(?P<drive>{SEG})", name="drive", kind="graph")
    def drive(req: Request) -> Response:
        owner, user = drive_owner(req, req.params["drive"])
        if owner is not store:
            found = sites.drive_of(req.params["drive"])
            assert found is not None
            return render_entity(req, sites.render_drive(*found), DRIVE, CTX + "drives/$entity")
        return render_entity(req, store.drive_resource(user), DRIVE, CTX + "drives/$entity")

    @r.graph("GET", rf"/users/(?P<user>{SEG})/drive/root/{DRIVE_DELTA}", name="drive_delta", kind="graph")
    def user_drive_delta(req: Request) -> Response:
        user = licensed_user(req.params["user"])
        onedrive_access(req)
        return delta(req, store, user, req.path[: req.path.rindex("/root/")] + "/root/delta")

    @r.graph("GET", rf"/drives/(?P<drive>{SEG})/root/{DRIVE_DELTA}", name="drive_delta", kind="graph")
    def drive_delta(req: Request) -> Response:
        owner, user = drive_owner(req, req.params["drive"])
        return delta(req, owner, user, req.path[: req.path.rindex("/root/")] + "/root/delta")

    def delta(req: Request, store: DriveStore, user: UserRef, link_path: str) -> Response:
        drive_id = drive_id_for(store.seed, user.id)
        base = f"{emu.base_url}{link_path}"
        token = req.params.get("fntoken") or req.query.get("token")
        now = store.seq
        if not token or token == "latest":
            root = store.render_delta_item(user, store.full_round_ids(user.id, 0)[0])
            select = DRIVE_ITEM.parse_select(req.query.get("$select"), root)
            size = page_size(req, default=DEFAULT_PAGE, maximum=MAX_PAGE, family="graph")
            state = {"k": drive_id, "g": store.generation, "ps": size, "sel": None if select is None else list(select)}
            if token == "latest":
                link = f"{base}?token={emu.codec.encode({**state, 'm': 'd', 'u': now})}"
                return Response(200, page_body(CTX + "Collection(driveItem)", [], [("@odata.deltaLink", link)]))
            since, upto, offset = None, now, 0
        elif (stamp := _timestamp(token)) is not None:
            # "?token=2021-09-29T20:00:00Z": changes since that time (OneDrive for Business only)
            since_at = store.seq_at(stamp)
            size = page_size(req, default=DEFAULT_PAGE, maximum=MAX_PAGE, family="graph")
            select = DRIVE_ITEM.parse_select(req.query.get("$select"), None)
            state = {"k": drive_id, "g": store.generation, "ps": size, "sel": None if select is None else list(select)}
            since, upto, offset = since_at, now, 0
        else:
            p = emu.codec.decode(token)
            # the fault expires stored deltaLinks (mode "d"), not the nextLinks of a round in progress
            expired = p is not None and p.get("m") == "d" and emu.faults.hit("expire_delta")
            if expired:
                emu.stats.fault("expire_delta")
            if p is None or p.get("k") != drive_id or p.get("g") != store.generation or int(p["u"]) > now or expired:
                raise GraphError(410, "resyncRequired", RESYNC_MESSAGE, [("Location", base)])
            state = {"k": drive_id, "g": store.generation, "ps": int(p["ps"]), "sel": p.get("sel")}
            select = None if p.get("sel") is None else tuple(p["sel"])
            size = int(p["ps"])
            if p.get("m") == "d":
                since, upto, offset = int(p["u"]), now, 0
            else:
                since = None if p.get("s") is None else int(p["s"])
                upto, offset = int(p["u"]), int(p["o"])
        if since is None:
            ids = store.full_round_ids(user.id, upto)
        else:
            ids = store.changed_ids(user.id, since, upto, with_parents=not req.header("deltaexcludeparent"))
        values: list[bytes] = []
        for item_id in ids[offset : offset + size]:
            item = store.render_delta_item(user, item_id)
            if "deleted" in item:
                if since is not None:
                    values.append(dumps(item))
            else:
                values.append(dumps(DRIVE_ITEM.project(item, select)))
        if offset + size < len(ids):
            nxt = emu.codec.encode({**state, "m": "p", "s": since, "u": upto, "o": offset + size})
            extra = [("@odata.nextLink", f"{base}?token={nxt}")]
        else:
            extra = [("@odata.deltaLink", f"{base}?token={emu.codec.encode({**state, 'm': 'd', 'u': upto})}")]
        return Response(200, page_body(CTX + "Collection(driveItem)", values, extra))

    def mutate(op: str, count: int, rng: random.Random) -> list[str]:
        if op not in ("create", "update", "delete"):
            raise GraphError(400, "BadRequest", f"drive_items: unknown op {op!r}; use create, update or delete")
        return store.mutate(op, count, rng.getrandbits(32))

    emu.add_truth("drive_items", store.truth_ids)
    emu.add_mutator("drive_items", mutate)


def _timestamp(token: str) -> int | None:
    """Ticks of a timestamp used as a drive delta token, or None when ``token`` is not a date-time."""
    if not token[:4].isdigit():
        return None
    try:
        return parse_datetime_ticks(token)
    except ValueError:
        return None
