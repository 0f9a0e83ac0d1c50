"""SharePoint sites of the emulated tenant: sites, their lists and list items, and their document libraries.

Sites: the root site, a few communication sites (their number follows the scale) and the team site of every
live Microsoft 365 group; ``getAllSites`` lists every licensed user's OneDrive site too (``isPersonalSite``: its
drive is the OneDrive store's, and the emulator models no lists in it). Every SharePoint site has a ``Documents``
library (a drive: the group's drive for a group site) and one to three generic lists holding a few items each.
Library files live in a `LibraryStore` (the OneDrive store's delta machinery, one drive per library); list items
have their own change log, so ``items/delta`` returns a full round, then the items changed since a token (deleted
ones with the ``deleted`` facet).

``Sites.Selected``: an app holding only that permission reads the sites granted to it (``grant``, the
``/_emulator/site_grants`` admin route; Graph's ``POST /sites/{id}/permissions``) and gets 403 ``accessDenied``
elsewhere; it cannot enumerate sites (``getAllSites`` answers 403, as Graph does).

Truth: ``sites``, ``site_lists``, ``site_drives`` (bare ids), ``list_items`` (``list_id/item_id``) and
``library_items`` (``drive_id/item_id``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from .odata import SeqClock
from .router import GraphError
from .tenant_files import DriveStore, drive_id_for
from .workload_directory import Directory, GroupRef, UserRef
from .workload_kit import EPOCH_TICKS, TICKS_PER_SECOND, JsonDict, fmt_ticks, guid, rng_for, upn_slug

DAY = 86400 * TICKS_PER_SECOND
COMMUNICATION_SITES = (
    "Intranet",
    "Human Resources",
    "Finance",
    "Marketing",
    "Legal",
    "IT Help Desk",
    "Sales",
    "Engineering",
    "Facilities",
    "Training",
    "Events",
    "Communications",
    "Procurement",
    "Security",
    "Research",
    "Customer Success",
)
GENERIC_LISTS = (
    ("Tasks", "tasks"),
    ("Issues", "issueTracking"),
    ("Announcements", "announcements"),
    ("Contacts", "contacts"),
    ("Links", "links"),
    ("Events", "events"),
)
ITEM_TITLES = ("Review", "Follow up", "Budget", "Kick-off", "Onboarding", "Quarterly plan", "Vendor", "Offsite")
ITEM_STATES = ("Not Started", "In Progress", "Completed", "Deferred")
FULL_ACCESS = ("Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All")
FILE_ACCESS = ("Files.Read.All", "Files.ReadWrite.All")
SELECTED = "Sites.Selected"
# communication sites per scale (group sites follow the Microsoft 365 groups)
SITES_PER_SCALE = {"small": 3, "bench": 8, "large": 16}
# library files per drive (range) per scale
LIBRARY_ITEMS = {"small": (4, 10), "bench": (6, 16), "large": (6, 16)}


@dataclass(frozen=True)
class Site:
    """One site: ``group_id`` for a Microsoft 365 group's team site, ``root`` for the tenant's root site."""

    id: str
    key: str  # what its lists and items are derived from
    name: str
    display_name: str
    description: str
    web_url: str
    created: int
    modified: int
    group_id: str | None = None
    root: bool = False
    personal: bool = False  # a user's OneDrive site: listed by getAllSites, its drive is read as drive_items


@dataclass(frozen=True)
class SiteList:
    """A list of a site: a document library (``documentLibrary``, backed by a drive) or a generic list."""

    id: str
    site_id: str
    name: str
    template: str
    created: int
    modified: int

    @property
    def library(self) -> bool:
        """Whether it is a document library (its files are a drive's items)."""
        return self.template == "documentLibrary"


@dataclass(frozen=True)
class ListItem:
    """One list item's state."""

    id: str  # "1", "2", ... (unique within its list, as SharePoint numbers them)
    title: str
    status: str
    created: int
    modified: int
    version: int
    author: str  # user id


@dataclass
class _ListLog:
    """A list's items: the current ones, tombstones, when each last changed, the next item number."""

    items: dict[str, ListItem]
    last_seq: dict[str, int]
    created_seq: dict[str, int]
    deleted: dict[str, ListItem]
    next_id: int


class LibraryDirectory:
    """The `Directory` a `LibraryStore` is built over: one "owner" per document library (its list id)."""

    def __init__(self, sites: SiteStore) -> None:
        self._sites = sites
        self.seed = sites.directory.seed
        self.domain = sites.directory.domain
        self.tenant_id = sites.directory.tenant_id
        self._known: dict[str, UserRef] = {}

    def users(self) -> Iterator[UserRef]:
        """One `UserRef` per live document library: id = list id, principal name = site URL."""
        for site in self._sites.sites():
            for lst in self._sites.lists(site):
                if lst.library:
                    yield UserRef(lst.id, site.web_url, site.display_name, True)

    def users_version(self) -> int:
        """Changes with the groups (a group's site comes and goes with it)."""
        return self._sites.directory.users_version()

    def user(self, key: str) -> UserRef | None:
        """The library ``key`` (a list id), or None (live or not: routes check liveness through the sites)."""
        ref = self._known.get(key)
        if ref is None:
            self._known = {ref.id: ref for ref in self.users()}
            ref = self._known.get(key)
        return ref

    def groups(self) -> Iterator[GroupRef]:
        """The tenant's groups."""
        return iter(self._sites.directory.groups())

    def group(self, group_id: str) -> GroupRef | None:
        """A group by id."""
        return self._sites.directory.group(group_id)


class LibraryStore(DriveStore):
    """Document library drives: the OneDrive store's items and delta, rendered as a site's library."""

    def _site_url(self, user: UserRef) -> str:
        return user.user_principal_name  # the library's site URL

    def _identity(self, user: UserRef) -> JsonDict:  # type: ignore[override]
        return {"displayName": user.display_name}

    def render_item(self, user: UserRef, rec: Any, child_count: int, for_delta: bool) -> JsonDict:
        """A library driveItem (``parentReference.driveType`` is ``documentLibrary``)."""
        out = super().render_item(user, rec, child_count, for_delta)
        out["parentReference"]["driveType"] = "documentLibrary"
        if "shared" in out:
            out["shared"] = {"scope": out["shared"]["scope"]}
        return out

    def render_delta_item(self, user: UserRef, item_id: str) -> JsonDict:
        """A library item as delta returns it (``documentLibrary`` drive type on deleted ones too)."""
        out = super().render_delta_item(user, item_id)
        if "deleted" in out and "parentReference" in out:
            out["parentReference"]["driveType"] = "documentLibrary"
        return out


class SiteStore:
    """Every site, list, list item and library of the tenant; ``Sites.Selected`` grants per app."""

    def __init__(
        self, directory: Directory, scale: str, clock: SeqClock, groups_version: Callable[[], int] | None = None
    ) -> None:
        self.directory = directory
        self._groups_version = groups_version  # the groups' change counter: sites are listed again when it moves
        self._sites: tuple[int, list[Site]] | None = None
        self._personal: tuple[int, list[Site]] | None = None
        self._users: tuple[int, list[str]] | None = None
        self._drives: tuple[list[Site], dict[str, tuple[Site, SiteList]]] | None = None
        self._lists: dict[str, list[SiteList]] = {}
        self.seed = directory.seed
        self.host = f"{directory.domain.split('.')[0]}.sharepoint.com"
        self._communication = SITES_PER_SCALE.get(scale, 3)
        self._clock = clock
        self._lock = threading.RLock()
        self._logs: dict[str, _ListLog] = {}
        self.generation = 0  # bumped by expire_tokens: list item tokens of an older one answer 410
        self.grants: dict[str, set[str]] = {}  # app client id -> site ids granted under Sites.Selected
        self.libraries = LibraryStore(LibraryDirectory(self), LIBRARY_ITEMS.get(scale, (4, 10)), clock)

    # -- sites ------------------------------------------------------------------------------
    def _site_id(self, key: str) -> str:
        return f"{self.host},{guid(self.seed, 'site-collection', key)},{guid(self.seed, 'site-web', key)}"

    def _site(self, key: str, name: str, display: str, url: str, group: str | None, root: bool) -> Site:
        rng = rng_for(self.seed, "site", key)
        created = EPOCH_TICKS - rng.randint(200, 1200) * DAY
        modified = EPOCH_TICKS - rng.randint(0, 60) * DAY
        about = f"Team site of {display}" if group else f"{display} communication site"
        return Site(self._site_id(key), key, name, display, about, url, created, modified, group, root)

    def sites(self) -> list[Site]:
        """The root site, the communication sites, then a team site per live Microsoft 365 group."""
        version = self._groups_version() if self._groups_version is not None else None
        cached = self._sites
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        out = [self._site("root", "", "Communication site", f"https://{self.host}", None, True)]
        for name in COMMUNICATION_SITES[: self._communication]:
            slug = name.replace(" ", "")
            out.append(self._site(f"comm:{slug}", slug, name, f"https://{self.host}/sites/{slug}", None, False))
        for group in sorted(self.directory.groups(), key=lambda g: g.id):
            if group.unified:
                nick = group.mail_nickname or group.id
                url = f"https://{self.host}/sites/{quote(nick)}"
                out.append(self._site(f"group:{group.id}", nick, group.display_name, url, group.id, False))
        if version is not None:
            self._sites = (version, out)
        return out

    def personal_sites(self) -> list[Site]:
        """The OneDrive site of every licensed user (``getAllSites`` lists them, ``isPersonalSite`` true); listed
        again only when the users changed (a page of getAllSites must not cost a pass over 5,000 users)."""
        version = self.directory.users_version()
        if self._personal is not None and self._personal[0] == version:
            return self._personal[1]
        host = self.host.replace(".sharepoint.com", "-my.sharepoint.com")
        out = []
        for user in sorted(self.directory.users(), key=lambda u: u.id):
            if user.licensed:
                key = f"personal:{user.id}"
                url = f"https://{host}/personal/{upn_slug(user.user_principal_name)}"
                site = self._site(key, upn_slug(user.user_principal_name), user.display_name, url, None, False)
                out.append(replace(site, id=f"{host},{site.id.split(',', 1)[1]}", personal=True, description=""))
        self._personal = (version, out)
        return out

    def all_sites(self) -> list[Site]:
        """What ``getAllSites`` lists: the SharePoint sites, then the users' OneDrive sites."""
        return [*self.sites(), *self.personal_sites()]

    def site(self, key: str) -> Site | None:
        """A SharePoint site by id (or ``root``), or None (a OneDrive site: ``personal_site``)."""
        found = self.sites()
        if key == "root":
            return found[0]
        return next((s for s in found if s.id.lower() == key.lower()), None)

    def personal_site(self, key: str) -> Site | None:
        """A user's OneDrive site by id, or None."""
        return next((s for s in self.personal_sites() if s.id.lower() == key.lower()), None)

    def group_site(self, group_id: str) -> Site | None:
        """The team site of a Microsoft 365 group, or None."""
        return next((s for s in self.sites() if s.group_id == group_id), None)

    def render_site(self, site: Site) -> JsonDict:
        """Graph JSON of a site."""
        out: JsonDict = {
            "id": site.id,
            "name": site.name,
            "displayName": site.display_name,
            "description": site.description,
            "webUrl": site.web_url,
            "createdDateTime": fmt_ticks(site.created, 0),
            "lastModifiedDateTime": fmt_ticks(site.modified, 0),
            "isPersonalSite": site.personal,
            "siteCollection": {"hostname": self.host},
        }
        if site.root:
            out["root"] = {}
        return out

    # -- access -----------------------------------------------------------------------------
    def grant(self, app_id: str, site_ids: list[str]) -> list[str]:
        """Grant ``app_id`` read access to ``site_ids`` (Sites.Selected); returns the granted site ids."""
        known = {s.id for s in self.sites()}
        unknown = [s for s in site_ids if s not in known]
        if unknown:
            raise GraphError(404, "itemNotFound", f"Unknown site id(s): {', '.join(unknown)}")
        with self._lock:
            self.grants.setdefault(app_id, set()).update(site_ids)
            return sorted(self.grants[app_id])

    @staticmethod
    def reads_all(claims: dict[str, Any], files: bool = False) -> bool:
        """Whether the token reads every site (``files``: or every drive, with Files.Read.All)."""
        have = set(claims.get("roles") or []) | set(str(claims.get("scp", "")).split())
        return bool(have & set(FULL_ACCESS) or (files and have & set(FILE_ACCESS)))

    def check_access(self, claims: dict[str, Any], site: Site, files: bool = False) -> None:
        """403 ``accessDenied`` unless the token reads every site, or holds ``Sites.Selected`` and was granted
        ``site`` (``files``: Files.Read.All reaches a site's libraries too)."""
        if self.reads_all(claims, files):
            return
        have = set(claims.get("roles") or []) | set(str(claims.get("scp", "")).split())
        if SELECTED in have and site.id in self.grants.get(str(claims.get("appid", "")), set()):
            return
        raise GraphError(403, "accessDenied", "Access denied")

    # -- lists ------------------------------------------------------------------------------
    def lists(self, site: Site) -> list[SiteList]:
        """The site's ``Documents`` library, then its generic lists."""
        cached = self._lists.get(site.key)
        if cached is not None:
            return cached
        rng = rng_for(self.seed, "site-lists", site.key)
        out = [self._list(site, "Documents", "documentLibrary", rng)]
        for name, template in rng.sample(GENERIC_LISTS, rng.randint(1, 3)):
            out.append(self._list(site, name, template, rng))
        self._lists[site.key] = out
        return out

    def _list(self, site: Site, name: str, template: str, rng: random.Random) -> SiteList:
        created = site.created + rng.randint(0, 30) * DAY
        return SiteList(guid(self.seed, "list", site.key, name), site.id, name, template, created, site.modified)

    def find_list(self, site: Site, list_key: str) -> SiteList | None:
        """A list of ``site`` by id or name (Graph accepts both)."""
        key = list_key.lower()
        return next((lst for lst in self.lists(site) if key in (lst.id.lower(), lst.name.lower())), None)

    def render_list(self, site: Site, lst: SiteList) -> JsonDict:
        """Graph JSON of a list."""
        path = "Shared%20Documents" if lst.library else f"Lists/{quote(lst.name)}"
        return {
            "@odata.etag": f'"{lst.id},1"',
            "id": lst.id,
            "name": lst.name,
            "displayName": lst.name,
            "description": "",
            "webUrl": f"{site.web_url}/{path}",
            "eTag": f'"{lst.id},1"',
            "createdDateTime": fmt_ticks(lst.created, 0),
            "lastModifiedDateTime": fmt_ticks(lst.modified, 0),
            "createdBy": {"user": {"displayName": "System Account"}},
            "parentReference": {"siteId": site.id},
            "list": {"contentTypesEnabled": False, "hidden": False, "template": lst.template},
        }

    # -- drives -----------------------------------------------------------------------------
    def library_ref(self, lst: SiteList, site: Site) -> UserRef:
        """The `LibraryStore` owner of a document library."""
        return UserRef(lst.id, site.web_url, site.display_name, True)

    def drive_of(self, drive_id: str) -> tuple[Site, SiteList] | None:
        """The site and library of a library drive id, or None (indexed once per list of sites)."""
        sites = self.sites()
        if self._drives is None or self._drives[0] is not sites:
            libraries = [(site, lst) for site in sites for lst in self.lists(site) if lst.library]
            index = {drive_id_for(self.seed, lst.id): (site, lst) for site, lst in libraries}
            self._drives = (sites, index)
        return self._drives[1].get(drive_id)

    def render_drive(self, site: Site, lst: SiteList) -> JsonDict:
        """Graph JSON of a document library's drive (a group site's is the group's drive)."""
        ref = self.library_ref(lst, site)
        used = sum(rec.size for rec in self.libraries.current_items(lst.id))
        total = 25 * 1024**4
        # v1.0's identitySet has no group: a group's drive names its group as the owning user's display name
        group = self.directory.group(site.group_id) if site.group_id else None
        owner: JsonDict = {"user": {"displayName": group.display_name if group else "System Account"}}
        return {
            "id": drive_id_for(self.seed, ref.id),
            "name": lst.name,
            "description": "",
            "driveType": "documentLibrary",
            "webUrl": f"{site.web_url}/Shared%20Documents",
            "createdDateTime": fmt_ticks(lst.created, 0),
            "lastModifiedDateTime": fmt_ticks(lst.modified, 0),
            "createdBy": {"user": {"displayName": "System Account"}},
            "owner": owner,
            "quota": {"deleted": 0, "remaining": total - used, "state": "normal", "total": total, "used": used},
        }

    # -- list items -------------------------------------------------------------------------
    def _user_ids(self) -> list[str]:
        """Every user's id, sorted (list item authors are drawn from them); listed again when the users change."""
        version = self.directory.users_version()
        if self._users is None or self._users[0] != version:
            self._users = (version, sorted(user.id for user in self.directory.users()))
        return self._users[1]

    def _log(self, site: Site, lst: SiteList) -> _ListLog:
        log = self._logs.get(lst.id)
        if log is None:
            rng = rng_for(self.seed, "list-items", lst.id)
            users = self._user_ids()
            items: dict[str, ListItem] = {}
            for number in range(1, rng.randint(2, 5) + 1):
                created = lst.created + rng.randint(1, 200) * DAY
                author = rng.choice(users) if users else ""
                title = f"{rng.choice(ITEM_TITLES)} {number}"
                items[str(number)] = ListItem(str(number), title, rng.choice(ITEM_STATES), created, created, 1, author)
            log = self._logs[lst.id] = _ListLog(items, {}, dict.fromkeys(items, 0), {}, len(items) + 1)
        return log

    def items(self, site: Site, lst: SiteList) -> list[ListItem]:
        """The list's current items in creation order (none for a library: its files are drive items)."""
        if lst.library:
            return []
        with self._lock:
            log = self._log(site, lst)
            return sorted(log.items.values(), key=lambda i: int(i.id))

    def full_round_ids(self, site: Site, lst: SiteList, upto: int) -> list[str]:
        """Item ids of a full round as of sequence ``upto``."""
        with self._lock:
            log = self._log(site, lst)
            return [i.id for i in self.items(site, lst) if log.created_seq.get(i.id, 0) <= upto]

    def changed_ids(self, site: Site, lst: SiteList, since: int, upto: int) -> list[str]:
        """Ids changed (created, updated, deleted) in ``(since, upto]``, in change order."""
        with self._lock:
            log = self._log(site, lst)
            return [i for i, s in sorted(log.last_seq.items(), key=lambda kv: kv[1]) if since < s <= upto]

    def render_item(self, site: Site, lst: SiteList, item_id: str, fields: bool) -> JsonDict:
        """Graph JSON of a list item (with ``fields`` when expanded), or its ``deleted`` facet."""
        with self._lock:
            log = self._log(site, lst)
            item = log.items.get(item_id)
        if item is None:
            return {"id": item_id, "deleted": {"state": "deleted"}}
        author = self.directory.user(item.author)
        who = {"user": {"id": item.author, "displayName": author.display_name if author else "Former user"}}
        etag = f'"{guid(self.seed, "item-etag", lst.id, item.id)},{item.version}"'
        out: JsonDict = {
            "@odata.etag": etag,
            "id": item.id,
            "eTag": etag,
            "createdDateTime": fmt_ticks(item.created, 0),
            "lastModifiedDateTime": fmt_ticks(item.modified, 0),
            "webUrl": f"{site.web_url}/Lists/{quote(lst.name)}/{item.id}_.000",
            "createdBy": who,
            "lastModifiedBy": who,
            "parentReference": {"id": lst.id, "siteId": site.id},
            "contentType": {"id": "0x0100" + guid(self.seed, "ct", lst.id).replace("-", "").upper(), "name": "Item"},
        }
        if fields:
            out["fields"] = {
                "@odata.etag": etag,
                "id": item.id,
                "Title": item.title,
                "Status": item.status,
                "ContentType": "Item",
                "Created": fmt_ticks(item.created, 0),
                "Modified": fmt_ticks(item.modified, 0),
                "AuthorLookupId": str(1 + int(guid(self.seed, "lookup", item.author)[:4], 16) % 50),
                "_UIVersionString": f"{item.version}.0",
            }
        return out

    def expire_tokens(self) -> None:
        """Invalidate every list item delta token handed out so far."""
        with self._lock:
            self.generation += 1

    # -- truth and mutation -----------------------------------------------------------------
    def truth(self) -> dict[str, list[str]]:
        """Truth ids of every SharePoint table."""
        out: dict[str, list[str]] = {"sites": [], "site_lists": [], "site_drives": [], "list_items": []}
        out["sites"] = [site.id for site in self.all_sites()]
        for site in self.sites():
            for lst in self.lists(site):
                out["site_lists"].append(lst.id)
                if lst.library:
                    out["site_drives"].append(drive_id_for(self.seed, lst.id))
                else:
                    out["list_items"] += [f"{lst.id}/{item.id}" for item in self.items(site, lst)]
        return out

    def library_truth(self) -> Iterator[str]:
        """``drive_id/item_id`` of every file and folder of every document library (roots included)."""
        for ref in self.libraries.directory.users():
            drive_id = drive_id_for(self.seed, ref.id)
            for rec in self.libraries.current_items(ref.id):
                yield f"{drive_id}/{rec.id}"

    def mutate_items(self, op: str, count: int, rng: random.Random) -> list[str]:
        """Create, update or delete ``count`` list items; returns ``list_id/item_id`` of each."""
        if op not in ("create", "update", "delete"):
            raise GraphError(400, "BadRequest", f"list_items: unknown op {op!r}; use create, update or delete")
        with self._lock:
            lists = [(s, lst) for s in self.sites() for lst in self.lists(s) if not lst.library]
            users = self._user_ids()
            done: list[str] = []
            for _ in range(count * 20):
                if len(done) >= count or not lists:
                    break
                site, lst = rng.choice(lists)
                log = self._log(site, lst)
                if op != "create" and not log.items:
                    continue
                seq = self._clock.tick()
                when = EPOCH_TICKS + DAY + seq * 37 * TICKS_PER_SECOND
                if op == "create":
                    item_id = str(log.next_id)
                    log.next_id += 1
                    author = rng.choice(users) if users else ""
                    title = f"{rng.choice(ITEM_TITLES)} {item_id}"
                    log.items[item_id] = ListItem(item_id, title, ITEM_STATES[0], when, when, 1, author)
                    log.created_seq[item_id] = seq
                elif op == "update":
                    old = log.items[rng.choice(sorted(log.items))]
                    item_id = old.id
                    log.items[item_id] = replace(
                        old, status=rng.choice(ITEM_STATES), modified=when, version=old.version + 1
                    )
                else:
                    item_id = rng.choice(sorted(log.items))
                    log.deleted[item_id] = log.items.pop(item_id)
                log.last_seq[item_id] = seq
                done.append(f"{lst.id}/{item_id}")
            return done
