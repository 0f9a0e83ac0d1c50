"""The parents per-user and per-group entities fan out over, listed once per sync and shared by resources."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import SettingError
from .client import GraphClient
from .errors import GraphError


@dataclass(frozen=True)
class TenantUser:
    """A user whose mailbox, calendar, contacts and drive are read."""

    id: str
    user_principal_name: str


@dataclass(frozen=True)
class Libraries:
    """Document libraries of the tenant's sites and Microsoft 365 groups (drives, ``site_id``/``group_id`` set on
    each), and the sites or groups that refused to list theirs (403: ``Sites.Selected`` without a grant)."""

    drives: list[dict[str, Any]]
    refused: dict[str, str] = field(default_factory=dict)  # site or group id -> Graph error code


SITE_ID = re.compile(r"^[^,;\s/]+,[0-9a-fA-F-]{36},[0-9a-fA-F-]{36}$")


def selected_sites(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``O365_SITES``: the site ids to read when the app holds ``Sites.Selected`` (it cannot list sites), separated
    by semicolons or whitespace (a site id holds commas: ``contoso.sharepoint.com,<guid>,<guid>``).

    Raises:
        SettingError: naming ``O365_SITES`` and the value that is no site id.
    """
    raw = (os.environ if environ is None else environ).get("O365_SITES", "")
    sites = tuple(part for part in re.split(r"[;\s]+", raw) if part)
    for site in sites:
        if not SITE_ID.match(site):
            raise SettingError("O365_SITES", f"{site!r} is not a site id (hostname,site collection id,web id)")
    return sites


class Tenant:
    """Lists users, groups, plans, teams, channels and Bookings businesses on first use (thread-safe, memoized)."""

    def __init__(
        self, client: GraphClient, only_users: Sequence[str] = (), owns: Callable[[str], bool] | None = None
    ) -> None:
        self._client = client
        self._given = tuple(only_users)
        self._only = {name.lower() for name in only_users}
        self.owns = owns  # a mailbox shard's membership test (by user id); None: every mailbox
        self._lock = threading.RLock()  # plan_ids() lists groups inside its own computation
        self._memo: dict[str, Any] = {}

    @property
    def restricted(self) -> bool:
        """Whether ``O365_USERS`` narrows the users whose content is read."""
        return bool(self._only)

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def _all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return [item for page in self._client.iter_pages(path, params=params) for item in page.get("value", [])]

    def _users(self) -> list[dict[str, Any]]:
        return self._once(
            "all_users", lambda: self._all("users", {"$select": "id,userPrincipalName,mail,userType", "$top": "999"})
        )

    def unknown_users(self) -> list[str]:
        """The ``O365_USERS`` values that are neither the id nor the user principal name of a user of the tenant."""
        known = {name.lower() for user in self._users() for name in (user["id"], user.get("userPrincipalName") or "")}
        return [name for name in self._given if name.lower() not in known]

    def users_for_content(self) -> list[TenantUser]:
        """Members with a mail address (guests have no mailbox here), of this shard, restricted by ``O365_USERS``."""

        def compute() -> list[TenantUser]:
            chosen = [
                TenantUser(user["id"], user.get("userPrincipalName") or "")
                for user in self._users()
                if user.get("mail") and user.get("userType") != "Guest"
            ]
            if self.owns is not None:
                chosen = [u for u in chosen if self.owns(u.id)]
            if self._only:
                chosen = [
                    u for u in chosen if u.id.lower() in self._only or u.user_principal_name.lower() in self._only
                ]
            return chosen

        return self._once("users", compute)

    def unified_group_ids(self) -> list[str]:
        """Ids of Microsoft 365 (Unified) groups: the ones with plans and conversations."""
        return self._once(
            "unified",
            lambda: [
                group["id"]
                for group in self._all("groups", {"$select": "id,groupTypes", "$top": "999"})
                if "Unified" in (group.get("groupTypes") or [])
            ],
        )

    def plan_ids(self) -> list[str]:
        """Ids of every Planner plan of every Microsoft 365 group (first pages of 20 groups per ``$batch``)."""

        def compute() -> list[str]:
            groups = self.unified_group_ids()
            paths = [f"groups/{group_id}/planner/plans?$select=id" for group_id in groups]
            ids: list[str] = []
            for path, first in zip(paths, self._client.batch([(path, None) for path in paths]), strict=True):
                if isinstance(first, GraphError):  # a group without Planner answers 403/404: no plans
                    if first.status not in (403, 404):
                        raise first
                    continue
                ids += [plan["id"] for page in self._client.iter_pages(path, first=first) for plan in page["value"]]
            return ids

        return self._once("plans", compute)

    def team_ids(self) -> list[str]:
        """Ids of every team."""
        return self._once("teams", lambda: [team["id"] for team in self._all("teams", {"$select": "id"})])

    def channels(self) -> list[tuple[str, str]]:
        """(team id, channel id) of every channel of every team (first pages of 20 teams per ``$batch``); a team
        whose channels cannot be read (403/404) has none here."""

        def compute() -> list[tuple[str, str]]:
            teams = self.team_ids()
            paths = [f"teams/{team_id}/channels?$select=id" for team_id in teams]
            found: list[tuple[str, str]] = []
            answers = self._client.batch([(path, None) for path in paths]) if paths else []
            for team_id, path, first in zip(teams, paths, answers, strict=True):
                if isinstance(first, GraphError):
                    if first.status not in (403, 404):
                        raise first
                    continue
                pages = self._client.iter_pages(path, first=first)
                found += [(team_id, channel["id"]) for page in pages for channel in page.get("value", [])]
            return found

        return self._once("channels", compute)

    def business_ids(self) -> list[str]:
        """Ids of every Bookings business."""
        return self._once(
            "businesses", lambda: [business["id"] for business in self._all("solutions/bookingBusinesses")]
        )

    # ---- sharepoint ------------------------------------------------------------------------------------

    def site_ids(self) -> list[str]:
        """Ids of every SharePoint site (``sites/getAllSites`` without users' OneDrive sites, read as
        drive_items); when Graph refuses that (an app holding ``Sites.Selected``
        only cannot list sites), the sites of ``O365_SITES``, else the 403 is raised."""

        def compute() -> tuple[list[str], bool]:
            try:
                listed = self._all("sites/getAllSites", {"$select": "id,isPersonalSite"})
                return [site["id"] for site in listed if not site.get("isPersonalSite")], True
            except GraphError as exc:
                configured = selected_sites()
                if exc.status != 403 or not configured:
                    raise
                return list(configured), False

        return self._once("sites", compute)[0]

    def all_sites_listed(self) -> bool:
        """Whether :meth:`site_ids` are every site of the tenant (``getAllSites``), not only ``O365_SITES``."""
        self.site_ids()
        return bool(self._memo["sites"][1])

    def _firsts(self, paths: dict[str, str]) -> dict[str, dict[str, Any] | GraphError]:
        """The answers to ``paths`` (by key), 20 per ``$batch``."""
        keys = list(paths)
        return dict(zip(keys, self._client.batch([(paths[key], None) for key in keys]), strict=True))

    def libraries(self) -> Libraries:
        """Drives of every site (``sites/{id}/drives``) and of every Microsoft 365 group (``groups/{id}/drive``,
        a group's drive is its team site's library: one row, both ids set)."""

        def compute() -> Libraries:
            drives: dict[str, dict[str, Any]] = {}
            refused: dict[str, str] = {}
            sites = self.site_ids()
            firsts = self._firsts({site: f"sites/{site}/drives" for site in sites})
            for site, first in firsts.items():
                if isinstance(first, GraphError):
                    if first.status not in (403, 404):
                        raise first
                    if first.status == 403:
                        refused[site] = first.code
                    continue
                for page in self._client.iter_pages(f"sites/{site}/drives", first=first):
                    for drive in page.get("value", []):
                        drives[drive["id"]] = {**drive, "site_id": site}
            groups = self.unified_group_ids()
            for group, answer in self._firsts({group: f"groups/{group}/drive" for group in groups}).items():
                if isinstance(answer, GraphError):
                    if answer.status not in (403, 404):  # 404: a group whose site is not provisioned yet
                        raise answer
                    if answer.status == 403:
                        refused[group] = answer.code
                    continue
                drive = {key: value for key, value in answer.items() if not key.startswith("@odata.context")}
                drives[drive["id"]] = {**drives.get(drive["id"], drive), "group_id": group}
            return Libraries(list(drives.values()), refused)

        return self._once("libraries", compute)
