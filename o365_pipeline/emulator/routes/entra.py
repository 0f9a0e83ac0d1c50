"""Entra governance routes: directory roles and their assignments (unified RBAC), Conditional Access policies and
the authentication-method registration report.

- ``roleManagement/directory/roleDefinitions`` and ``roleManagement/directory/roleAssignments``
  (RoleManagement.Read.Directory; ``$select``, ``$filter`` on ``roleDefinitionId``/``principalId`` eq).
- ``identity/conditionalAccess/policies`` (Policy.Read.All; ``$select``).
- ``reports/authenticationMethods/userRegistrationDetails`` (AuditLog.Read.All): the docs list only ``$filter``
  and ``$orderby``, so ``$select`` and ``$top`` answer 400 here.

Truth: ``directory_roles``, ``directory_role_members``, ``conditional_access_policies``,
``user_registration_details``; mutate ops as in WORKLOADS.md.
"""

from __future__ import annotations

import random
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..odata import Shape, dumps
from ..paging import list_page
from ..router import GraphError, Request, Response
from ..tenant_entra import EntraGovernance
from ..workload_http import CTX
from ..workload_kit import EPOCH_TICKS, TICKS_PER_SECOND

if TYPE_CHECKING:
    from ..core import Emulator

ROLE = Shape("microsoft.graph.unifiedRoleDefinition", None, "directory")
ASSIGNMENT = Shape("microsoft.graph.unifiedRoleAssignment", None, "directory")
POLICY = Shape("microsoft.graph.conditionalAccessPolicy", None, "graph")
REGISTRATION = Shape("microsoft.graph.userRegistrationDetails", None, "graph")
_EQ = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)

_BY_EMULATOR: weakref.WeakKeyDictionary[Emulator, EntraGovernance] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def governance_for(emu: Emulator) -> EntraGovernance:
    """The `EntraGovernance` of ``emu`` (created on first use)."""
    with _LOCK:
        found = _BY_EMULATOR.get(emu)
        if found is None:
            found = _BY_EMULATOR[emu] = EntraGovernance(emu.directory)
        return found


def _eq_filter(raw: str | None, allowed: tuple[str, ...]) -> Callable[[dict[str, Any]], bool]:
    """``prop eq 'value'`` on one of ``allowed`` (what the role assignment docs show); anything else is a 400."""
    if raw is None:
        return lambda item: True
    match = _EQ.match(raw)
    if match is None or match.group(1) not in allowed:
        raise GraphError(
            400, "Request_UnsupportedQuery", f"Unsupported filter '{raw}': use {' or '.join(allowed)} eq '...'."
        )
    prop, value = match.group(1), match.group(2)
    return lambda item: str(item.get(prop)) == value


class _Rendered(Sequence[bytes]):
    """``n`` rendered items, each rendered only when a page takes it."""

    def __init__(self, n: int, render: Callable[[int], bytes]) -> None:
        self._n, self._render = n, render

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self._render(i) for i in range(*k.indices(self._n))]
        return self._render(k)


def register(emu: Emulator) -> None:
    """Add the Entra governance routes, their truth sources and mutators."""
    gov = governance_for(emu)
    r = emu.router

    def listing(req: Request, scope: str, items: list[dict[str, Any]], shape: Shape, context: str) -> Response:
        select = shape.parse_select(req.query.get("$select"), items[0] if items else None)
        rendered = [dumps(shape.project(item, select)) for item in items]
        return list_page(
            req, emu, scope=scope, rendered=rendered, context=context, default=100, maximum=999, family=shape.family
        )

    @r.graph("GET", r"/roleManagement/directory/roleDefinitions", name="role_definitions", kind="directory", cost=1)
    def role_definitions(req: Request) -> Response:
        keep = _eq_filter(req.query.get("$filter"), ("displayName", "templateId", "isBuiltIn"))
        roles = [role for role in list(gov.roles.values()) if keep(role)]
        return listing(req, "roleDefinitions", roles, ROLE, CTX + "roleManagement/directory/roleDefinitions")

    @r.graph("GET", r"/roleManagement/directory/roleAssignments", name="role_assignments", kind="directory", cost=1)
    def role_assignments(req: Request) -> Response:
        keep = _eq_filter(req.query.get("$filter"), ("roleDefinitionId", "principalId"))
        found = [a for a in gov.live_assignments() if keep(a)]
        return listing(req, "roleAssignments", found, ASSIGNMENT, CTX + "roleManagement/directory/roleAssignments")

    @r.graph("GET", r"/identity/conditionalAccess/policies", name="conditional_access_policies", kind="graph")
    def policies(req: Request) -> Response:
        found = list(gov.policies.values())
        return listing(req, "caPolicies", found, POLICY, CTX + "identity/conditionalAccess/policies")

    @r.graph(
        "GET",
        r"/reports/authenticationMethods/userRegistrationDetails",
        name="user_registration_details",
        kind="graph",
    )
    def registrations(req: Request) -> Response:
        for name in ("$select", "$top"):
            if name in req.query:  # the list docs: "supports only the $filter and $orderBy OData query parameters"
                raise GraphError(400, "BadRequest", f"Query option '{name}' is not allowed on this resource.")
        context = CTX + "reports/authenticationMethods/userRegistrationDetails"
        if "$filter" in req.query:
            keep = _eq_filter(req.query.get("$filter"), ("userPrincipalName", "userType", "id"))
            found = [row for row in gov.registrations() if keep(row)]
            return listing(req, "registrations", found, REGISTRATION, context)
        # a page renders only its own rows (50 pages of 100 at the large scale, not 50 times 5,000 rows);
        # list_page only measures and slices what it is given
        users = list(emu.directory.users.items.values())
        admins = {a["principalId"] for a in gov.live_assignments()}
        rows = _Rendered(len(users), lambda i: dumps(gov.registration(users[i], admins)))
        return list_page(
            req, emu, scope="registrations", rendered=rows, context=context, default=100, maximum=999, family="graph"
        )

    def checked(fn: Callable[[str, int, random.Random], list[str]]) -> Callable[[str, int, random.Random], list[str]]:
        def mutate(op: str, count: int, rng: random.Random) -> list[str]:
            try:
                return fn(op, count, rng)
            except ValueError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None

        return mutate

    emu.add_truth("directory_roles", lambda: list(gov.roles))
    emu.add_truth("directory_role_members", lambda: [a["id"] for a in gov.live_assignments()])
    emu.add_truth("conditional_access_policies", lambda: list(gov.policies))
    emu.add_truth("user_registration_details", lambda: list(emu.directory.users.items))
    emu.add_mutator("directory_role_members", checked(gov.mutate_assignments))

    def now() -> int:  # changes happen after the seeded history, a second per change of the tenant
        return EPOCH_TICKS + emu.clock.now * TICKS_PER_SECOND

    emu.add_mutator("conditional_access_policies", checked(lambda op, n, rng: gov.mutate_policies(op, n, rng, now())))
    emu.add_mutator(
        "user_registration_details", checked(lambda op, n, rng: gov.mutate_registrations(op, n, rng, now()))
    )
