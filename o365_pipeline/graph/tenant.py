"""The parents per-user and per-group entities fan out over, listed once per sync and shared by resources."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .client import GraphClient
from .errors import GraphError


@dataclass(frozen=True)
class TenantUser:
    """A user whose mailbox, calendar, contacts and drive are read."""

    id: str
    user_principal_name: str


class Tenant:
    """Lists users, groups, plans, teams and Bookings businesses on first use (thread-safe, memoized)."""

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

    def business_ids(self) -> list[str]:
        """Ids of every Bookings business."""
        return self._once(
            "businesses", lambda: [business["id"] for business in self._all("solutions/bookingBusinesses")]
        )
