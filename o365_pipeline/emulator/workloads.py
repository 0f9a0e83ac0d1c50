"""Per-emulator state of the files, group (Planner/conversations/Teams), Bookings and audit workloads.

Route modules under ``routes/`` share one `Workloads` per `Emulator` through `workloads_for`;
it reads users and groups from the core directory through `CoreDirectoryView`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .tenant_audit import EventLog
from .tenant_bookings import BookingWorkloads
from .tenant_collab import GroupWorkloads, team_provisioning
from .tenant_files import DriveStore
from .tenant_sites import SiteStore
from .tenant_teams import TeamsMessages
from .workload_directory import GroupRef, UserRef

if TYPE_CHECKING:
    from .core import Emulator
    from .tenant import Directory as CoreDirectory

# (items per drive range, sign-ins per user, directory audits per user, users per Bookings business)
_SIZES: dict[str, tuple[tuple[int, int], int, int, int]] = {
    "small": ((8, 30), 10, 4, 10),
    "bench": ((8, 40), 10, 4, 50),
    "large": ((8, 40), 10, 4, 100),
}


class CoreDirectoryView:
    """The workloads' `Directory` view over the emulator core's users and groups."""

    def __init__(self, core: CoreDirectory) -> None:
        self._core = core
        self.seed: int = core.seed
        self.domain: str = core.domain
        self.tenant_id: str = core.tenant_id

    @staticmethod
    def _user_ref(user: dict[str, Any]) -> UserRef:
        return UserRef(user["id"], user["userPrincipalName"], user["displayName"], bool(user.get("assignedLicenses")))

    def _group_ref(self, group: dict[str, Any]) -> GroupRef:
        unified = "Unified" in (group.get("groupTypes") or [])
        options = group.get("resourceProvisioningOptions")
        if options is None:
            options = team_provisioning(self.seed, group["id"], unified)
        return GroupRef(group["id"], group["displayName"], group.get("mailNickname") or "", unified, "Team" in options)

    def users(self) -> Iterator[UserRef]:
        """Every live user."""
        return (self._user_ref(u) for u in list(self._core.users.items.values()))

    def users_version(self) -> int:
        """The core users collection's change sequence."""
        return int(self._core.users.version)

    def user(self, key: str) -> UserRef | None:
        """A live user by id or UPN."""
        user = self._core.find_user(key)
        return self._user_ref(user) if user is not None else None

    def groups(self) -> Iterator[GroupRef]:
        """Every live group."""
        return (self._group_ref(g) for g in list(self._core.groups.items.values()))

    def group(self, group_id: str) -> GroupRef | None:
        """A live group by id."""
        group = self._core.groups.items.get(group_id) or self._core.groups.items.get(group_id.lower())
        return self._group_ref(group) if group is not None else None


class Workloads:
    """The non-directory, non-Outlook workloads of one emulated tenant."""

    def __init__(self, emu: Emulator) -> None:
        view = CoreDirectoryView(emu.directory)
        items, signins, audits, per_business = _SIZES.get(emu.scale.name, _SIZES["small"])
        n_users = max(1, emu.directory.user_count)
        self.directory = view
        self.drives = DriveStore(view, items_per_drive=items, clock=emu.clock)
        self.groups = GroupWorkloads(view)
        self.teams = TeamsMessages(self.groups, emu.directory, emu.clock.tick)  # channel messages, members
        self.bookings = BookingWorkloads(view, businesses=max(2, n_users // per_business))
        self.sign_ins = EventLog(view, "signIns", n_users * signins)
        self.directory_audits = EventLog(view, "directoryAudits", n_users * audits)
        self.sites = SiteStore(view, emu.scale.name, emu.clock, lambda: int(emu.directory.groups.version))


_BY_EMULATOR: weakref.WeakKeyDictionary[Emulator, Workloads] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def workloads_for(emu: Emulator) -> Workloads:
    """The `Workloads` of ``emu`` (created on first use)."""
    with _LOCK:
        found = _BY_EMULATOR.get(emu)
        if found is None:
            found = _BY_EMULATOR[emu] = Workloads(emu)
        return found
