"""Planner routes: a group's plans, a plan, and a plan's tasks (``planner_plans``, ``planner_tasks``).

`mutate` on ``planner_tasks`` creates, updates or deletes tasks (Planner has no v1.0 delta: full reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..odata import Shape
from ..router import SEG, GraphError, Request, Response
from ..workload_directory import GroupRef
from ..workload_http import CTX, directory_not_found, render_entity, render_list
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

PLAN = Shape("microsoft.graph.plannerPlan", None, "graph")
TASK = Shape("microsoft.graph.plannerTask", None, "graph")
PAGE = 100


def register(emu: Emulator) -> None:
    """Add the Planner routes and truth sources."""
    wl = workloads_for(emu)
    groups = wl.groups
    r = emu.router

    def group_or_404(group_id: str) -> GroupRef:
        group = wl.directory.group(group_id)
        if group is None:
            raise directory_not_found(group_id)
        return group

    @r.graph("GET", rf"/groups/(?P<group>{SEG})/planner/plans", name="planner_group_plans", kind="graph")
    def group_plans(req: Request) -> Response:
        group = group_or_404(req.params["group"])
        return render_list(
            req,
            emu,
            scope=f"plans:{group.id}",
            items=groups.plans(group),
            shape=PLAN,
            context=CTX + "Collection(microsoft.graph.plannerPlan)",
            default=PAGE,
            maximum=PAGE,
        )

    def plan_or_404(plan_id: str) -> tuple[GroupRef, dict]:
        found = groups.plan(plan_id)
        if found is None:
            raise GraphError(404, "NotFound", "The requested item is not found.")
        return found

    @r.graph("GET", rf"/planner/plans/(?P<plan>{SEG})", name="planner_plan", kind="graph")
    def plan(req: Request) -> Response:
        _, body = plan_or_404(req.params["plan"])
        return render_entity(req, body, PLAN, CTX + "planner/plans/$entity")

    @r.graph("GET", rf"/planner/plans/(?P<plan>{SEG})/tasks", name="planner_tasks", kind="graph")
    def tasks(req: Request) -> Response:
        group, body = plan_or_404(req.params["plan"])
        return render_list(
            req,
            emu,
            scope=f"tasks:{body['id']}",
            items=groups.tasks(group, body),
            shape=TASK,
            context=CTX + f"planner/plans('{body['id']}')/tasks",
            default=PAGE,
            maximum=PAGE,
        )

    emu.add_truth("planner_plans", lambda: groups.truth_ids()["planner_plans"])
    emu.add_truth("planner_tasks", lambda: groups.truth_ids()["planner_tasks"])
    emu.add_mutator("planner_tasks", lambda op, count, rng: groups.mutate_tasks(op, count, rng, emu.clock.tick))
