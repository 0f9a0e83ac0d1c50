"""SharePoint routes: ``/sites/getAllSites``, ``/sites/{id}``, a site's lists, list items and their delta, a
site's drives and a Microsoft 365 group's drive (library files: ``/drives/{id}/root/delta`` in drives.py).

List item delta follows the listItem delta docs (as drive delta does): links carry ``?token=``, ``token=latest``
answers only a deltaLink, a later round returns the items changed since the token (deleted ones with the
``deleted`` facet), an unknown or expired token answers 410 ``resyncRequired`` with a ``Location`` header.
``Sites.Selected``: every site route answers 403 ``accessDenied`` for a site not granted to the app
(``POST /_emulator/site_grants``); ``getAllSites`` needs Sites.Read.All.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

from ..odata import Shape, dumps
from ..paging import page_body, page_size
from ..router import SEG, GraphError, Request, Response
from ..tenant_files import drive_id_for
from ..tenant_sites import Site, SiteList
from ..workload_http import CTX, directory_not_found, render_all, render_entity, render_list
from ..workloads import workloads_for
from .drives import RESYNC_MESSAGE

if TYPE_CHECKING:
    from ..core import Emulator

SITE = Shape("microsoft.graph.site", None, "graph")
LIST = Shape("microsoft.graph.list", None, "graph")
LIST_ITEM = Shape("microsoft.graph.listItem", None, "graph")
DRIVE = Shape("microsoft.graph.drive", None, "graph")
ITEMS_DELTA = r"(?:delta|delta\(\))"
DEFAULT_PAGE = 200
MAX_PAGE = 1000


def _expands_fields(req: Request) -> bool:
    """Whether ``$expand`` (or ``$select``) asks for the item's ``fields``."""
    expand = req.query.get("$expand", "")
    select = req.query.get("$select", "")
    return any(part.strip().startswith("fields") for part in f"{expand},{select}".split(","))


def register(emu: Emulator) -> None:
    """Add the SharePoint routes, the admin route granting sites to an app, truth sources and mutators."""
    wl = workloads_for(emu)
    store = wl.sites
    r = emu.router

    def site_or_404(req: Request) -> Site:
        site = store.site(req.params["site"])
        if site is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        store.check_access(req.claims or {}, site)
        return site

    def list_or_404(req: Request, site: Site) -> SiteList:
        lst = store.find_list(site, req.params["list"])
        if lst is None:
            raise GraphError(404, "itemNotFound", "The specified list was not found")
        return lst

    @r.graph("GET", r"/sites/getAllSites(?:\(\))?", name="sites_all", kind="graph")
    def all_sites(req: Request) -> Response:
        if not store.reads_all(req.claims or {}):  # Sites.Selected cannot enumerate sites (nor can Files.Read.All)
            raise GraphError(403, "accessDenied", "Access denied")
        items = [store.render_site(site) for site in store.all_sites()]
        return render_list(
            req, emu, scope="sites", items=items, shape=SITE, context=CTX + "sites", default=200, maximum=999
        )

    @r.graph("GET", rf"/sites/(?P<site>{SEG})", name="site", kind="graph")
    def site(req: Request) -> Response:
        personal = store.personal_site(req.params["site"])
        if personal is not None:  # a OneDrive site (getAllSites lists them): no Sites.Selected grant reaches it
            if not store.reads_all(req.claims or {}):
                raise GraphError(403, "accessDenied", "Access denied")
            return render_entity(req, store.render_site(personal), SITE, CTX + "sites/$entity")
        return render_entity(req, store.render_site(site_or_404(req)), SITE, CTX + "sites/$entity")

    @r.graph("GET", rf"/sites/(?P<site>{SEG})/lists", name="site_lists", kind="graph")
    def site_lists(req: Request) -> Response:
        found = site_or_404(req)
        items = [store.render_list(found, lst) for lst in store.lists(found)]
        return render_list(
            req,
            emu,
            scope=f"lists:{found.id}",
            items=items,
            shape=LIST,
            context=CTX + f"sites('{found.id}')/lists",
            default=200,
            maximum=999,
        )

    @r.graph("GET", rf"/sites/(?P<site>{SEG})/lists/(?P<list>{SEG})", name="site_list", kind="graph")
    def site_list(req: Request) -> Response:
        found = site_or_404(req)
        body = store.render_list(found, list_or_404(req, found))
        return render_entity(req, body, LIST, CTX + f"sites('{found.id}')/lists/$entity")

    @r.graph("GET", rf"/sites/(?P<site>{SEG})/lists/(?P<list>{SEG})/items", name="list_items", kind="graph")
    def list_items(req: Request) -> Response:
        found = site_or_404(req)
        lst = list_or_404(req, found)
        fields = _expands_fields(req)
        items = [store.render_item(found, lst, item.id, fields) for item in store.items(found, lst)]
        return render_list(
            req,
            emu,
            scope=f"items:{lst.id}:{int(fields)}",
            items=items,
            shape=LIST_ITEM,
            context=CTX + f"sites('{found.id}')/lists('{lst.id}')/items",
            default=200,
            maximum=MAX_PAGE,
        )

    @r.graph(
        "GET",
        rf"/sites/(?P<site>{SEG})/lists/(?P<list>{SEG})/items/{ITEMS_DELTA}",
        name="list_items_delta",
        kind="graph",
    )
    def items_delta(req: Request) -> Response:
        found = site_or_404(req)
        lst = list_or_404(req, found)
        base = f"{emu.base_url}{req.path.rsplit('/', 1)[0]}/delta"
        token = req.query.get("token")
        now = emu.clock.now
        if not token or token == "latest":
            size = page_size(req, default=DEFAULT_PAGE, maximum=MAX_PAGE, family="graph")
            state = {"k": lst.id, "g": store.generation, "ps": size, "f": _expands_fields(req)}
            if token == "latest":
                link = f"{base}?token={emu.codec.encode({**state, 'm': 'd', 'u': now})}"
                return Response(200, page_body(CTX + "Collection(listItem)", [], [("@odata.deltaLink", link)]))
            since, upto, offset = None, now, 0
        else:
            p = emu.codec.decode(token)
            expired = p is not None and p.get("m") == "d" and emu.faults.hit("expire_delta")
            if expired:
                emu.stats.fault("expire_delta")
            if p is None or p.get("k") != lst.id or p.get("g") != store.generation or int(p["u"]) > now or expired:
                raise GraphError(410, "resyncRequired", RESYNC_MESSAGE, [("Location", base)])
            state = {"k": lst.id, "g": store.generation, "ps": int(p["ps"]), "f": bool(p.get("f"))}
            size = int(p["ps"])
            if p.get("m") == "d":
                since, upto, offset = int(p["u"]), now, 0
            else:
                since = None if p.get("s") is None else int(p["s"])
                upto, offset = int(p["u"]), int(p["o"])
        if since is None:
            ids = store.full_round_ids(found, lst, upto)
        else:
            ids = store.changed_ids(found, lst, since, upto)
        values = [dumps(store.render_item(found, lst, item_id, state["f"])) for item_id in ids[offset : offset + size]]
        if offset + size < len(ids):
            nxt = emu.codec.encode({**state, "m": "p", "s": since, "u": upto, "o": offset + size})
            extra = [("@odata.nextLink", f"{base}?token={nxt}")]
        else:
            extra = [("@odata.deltaLink", f"{base}?token={emu.codec.encode({**state, 'm': 'd', 'u': upto})}")]
        return Response(200, page_body(CTX + "Collection(listItem)", values, extra))

    @r.graph("GET", rf"/sites/(?P<site>{SEG})/drives", name="site_drives", kind="graph")
    def site_drives(req: Request) -> Response:
        found = site_or_404(req)
        drives = [store.render_drive(found, lst) for lst in store.lists(found) if lst.library]
        return render_all(req, drives, DRIVE, CTX + "drives")

    @r.graph("GET", rf"/groups/(?P<group>{SEG})/drive", name="group_drive", kind="graph")
    def group_drive(req: Request) -> Response:
        group = wl.directory.group(req.params["group"])
        if group is None:
            raise directory_not_found(req.params["group"])
        found = store.group_site(group.id)
        if found is None:  # a security group has no site and no drive
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        store.check_access(req.claims or {}, found, files=True)
        library = next(lst for lst in store.lists(found) if lst.library)
        return render_entity(req, store.render_drive(found, library), DRIVE, CTX + "drives/$entity")

    def site_grants(req: Request) -> Response:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "body is not JSON") from exc
        app_id, site_ids = body.get("app_id"), body.get("site_ids")
        if not isinstance(app_id, str) or not isinstance(site_ids, list):
            raise GraphError(400, "BadRequest", 'body must be {"app_id": "<client id>", "site_ids": [...]}')
        return emu.json_response({"app_id": app_id, "site_ids": store.grant(app_id, [str(s) for s in site_ids])})

    r.add("POST", r"/_emulator/site_grants", site_grants, name="admin_site_grants", kind="admin")

    def truth(table: str) -> list[str]:
        return store.truth()[table]

    for table in ("sites", "site_lists", "site_drives", "list_items"):
        emu.add_truth(table, lambda table=table: truth(table))
    emu.add_truth("library_items", lambda: list(store.library_truth()))
    emu.add_mutator("list_items", store.mutate_items)

    def mutate_files(op: str, count: int, rng: random.Random) -> list[str]:
        if op not in ("create", "update", "delete"):
            raise GraphError(400, "BadRequest", f"library_items: unknown op {op!r}; use create, update or delete")
        changed = store.libraries.mutate(op, count, rng.getrandbits(32))  # "library list id/item id"
        return [f"{drive_id_for(store.seed, owner)}/{item}" for owner, _, item in (c.partition("/") for c in changed)]

    emu.add_mutator("library_items", mutate_files)
