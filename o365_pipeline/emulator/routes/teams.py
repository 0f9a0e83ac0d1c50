"""Teams and group-conversation routes: ``/teams``, ``/teams/{id}``, ``/teams/{id}/channels`` and
``/groups/{id}/conversations`` (Microsoft 365 groups only). Truth: ``teams``, ``channels``,
``group_conversations``. Teams are discovered with ``/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')``
(the directory's groups route) or with ``/teams``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..odata import Shape
from ..router import SEG, GraphError, Request, Response
from ..workload_directory import GroupRef
from ..workload_http import CTX, directory_not_found, render_all, render_entity, render_list
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

TEAM = Shape("microsoft.graph.team", None, "graph")
TEAM_LIST = Shape("microsoft.graph.team", ("displayName", "description"), "graph")
CHANNEL = Shape("microsoft.graph.channel", None, "graph")
CONVERSATION = Shape("microsoft.graph.conversation", None, "outlook")
_MEMBERSHIP = re.compile(r"^\s*membershipType\s+eq\s+'(\w+)'\s*$", re.IGNORECASE)


def register(emu: Emulator) -> None:
    """Add the Teams and conversation routes and truth sources."""
    wl = workloads_for(emu)
    groups = wl.groups
    r = emu.router

    def group_or_404(group_id: str) -> GroupRef:
        group = wl.directory.group(group_id)
        if group is None:
            raise directory_not_found(group_id)
        return group

    def team_or_404(team_id: str) -> GroupRef:
        group = wl.directory.group(team_id)
        if group is None or not group.team:
            raise GraphError(404, "NotFound", f"No team found with Group Id {team_id}")
        return group

    @r.graph("GET", r"/teams", name="teams", kind="graph")
    def teams(req: Request) -> Response:
        found = [t for g in wl.directory.groups() if (t := groups.team(g)) is not None]
        return render_list(
            req, emu, scope="teams", items=found, shape=TEAM_LIST, context=CTX + "teams", default=100, maximum=999
        )

    @r.graph("GET", rf"/teams/(?P<team>{SEG})", name="team", kind="graph")
    def team(req: Request) -> Response:
        body = groups.team(team_or_404(req.params["team"]))
        assert body is not None
        return render_entity(req, body, TEAM, CTX + "teams/$entity")

    @r.graph("GET", rf"/teams/(?P<team>{SEG})/channels", name="channels", kind="graph")
    def channels(req: Request) -> Response:
        group = team_or_404(req.params["team"])
        items = groups.channels(group)
        raw = req.query.get("$filter")
        if raw is not None:
            match = _MEMBERSHIP.match(raw)
            if match is None:
                raise GraphError(400, "BadRequest", f"Unsupported $filter '{raw}': use membershipType eq '...'.")
            items = [c for c in items if c["membershipType"] == match.group(1)]
        return render_all(req, items, CHANNEL, CTX + f"teams('{group.id}')/channels")

    @r.graph("GET", rf"/groups/(?P<group>{SEG})/conversations", name="group_conversations", kind="graph")
    def conversations(req: Request) -> Response:
        group = group_or_404(req.params["group"])
        if not group.unified:
            raise GraphError(
                404, "ResourceNotFound", "The group is not a Microsoft 365 group: it has no group mailbox."
            )
        return render_list(
            req,
            emu,
            scope=f"conversations:{group.id}",
            items=groups.conversations(group),
            shape=CONVERSATION,
            context=CTX + f"groups('{group.id}')/conversations",
            default=10,
            maximum=1000,
        )

    for table in ("teams", "channels", "group_conversations"):
        emu.add_truth(table, lambda table=table: groups.truth_ids()[table])
    emu.add_mutator(
        "group_conversations", lambda op, count, rng: groups.mutate_conversations(op, count, rng, emu.clock.tick)
    )
