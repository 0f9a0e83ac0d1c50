"""The view of the directory (users, groups) that the non-directory workloads are derived from.

The emulator core owns users and groups; the files, Planner, Teams, Bookings and audit workloads
only need ids, names and a few flags. `Directory` is that narrow view; `StaticDirectory` is a
real in-memory implementation used when the workloads run on a fixed list (and by unit tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class UserRef:
    """A user as the workloads see it."""

    id: str
    user_principal_name: str
    display_name: str
    licensed: bool = True

    @property
    def mail(self) -> str:
        """The user's mail address (the UPN in the emulated tenant)."""
        return self.user_principal_name


@dataclass(frozen=True)
class GroupRef:
    """A group as the workloads see it: Microsoft 365 (``unified``) groups may be teams."""

    id: str
    display_name: str
    mail_nickname: str
    unified: bool
    team: bool


class Directory(Protocol):
    """Read access to the tenant's users and groups plus the seed everything is derived from."""

    seed: int
    domain: str
    tenant_id: str

    def users(self) -> Iterable[UserRef]:
        """Every current user."""
        ...

    def users_version(self) -> int:
        """A number that changes whenever the set of users changes (lets callers cache user lists)."""
        ...

    def user(self, key: str) -> UserRef | None:
        """A user by id or user principal name (case-insensitive), or None."""
        ...

    def groups(self) -> Iterable[GroupRef]:
        """Every current group."""
        ...

    def group(self, group_id: str) -> GroupRef | None:
        """A group by id, or None."""
        ...


class StaticDirectory:
    """A `Directory` over fixed lists of users and groups."""

    def __init__(
        self,
        seed: int,
        users: Sequence[UserRef],
        groups: Sequence[GroupRef],
        domain: str = "contoso.onmicrosoft.com",
        tenant_id: str = "00000000-0000-0000-0000-000000000000",
    ) -> None:
        self.seed = seed
        self.domain = domain
        self.tenant_id = tenant_id
        self._users = list(users)
        self._groups = list(groups)
        self._user_index = {u.id.lower(): u for u in self._users}
        self._user_index.update({u.user_principal_name.lower(): u for u in self._users})
        self._group_index = {g.id.lower(): g for g in self._groups}

    def users(self) -> Iterable[UserRef]:
        """Every user, in a stable order."""
        return iter(self._users)

    def users_version(self) -> int:
        """Always 0: the lists never change."""
        return 0

    def user(self, key: str) -> UserRef | None:
        """A user by id or UPN."""
        return self._user_index.get(key.lower())

    def groups(self) -> Iterable[GroupRef]:
        """Every group, in a stable order."""
        return iter(self._groups)

    def group(self, group_id: str) -> GroupRef | None:
        """A group by id."""
        return self._group_index.get(group_id.lower())
