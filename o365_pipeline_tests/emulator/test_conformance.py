"""The emulator's answers against Graph's v1.0 schema, as Microsoft's own SDK (msgraph-sdk) declares it.

The requests are the pipeline's own: a full sync of the seeded small tenant runs with a recorder on the emulator
(every answer, inner ``$batch`` ones included), then each route's first request is sent again without
``$select`` (Graph's default property set). Every item of every answer is checked (graph_schema.py): a property,
type or enum value v1.0 does not declare fails the test. A new route fails until it names its v1.0 model here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from kiota_abstractions.serialization import Parsable

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.router import Request, Response
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import use_emulator

from .conftest import get_token, tls
from .graph_schema import Report, check_object

# emulator route -> the msgraph-sdk model (module under msgraph.generated.models, class) of what it answers
ROUTE_MODELS = {
    "users": "user.User",
    "users_delta": "user.User",
    "groups": "group.Group",
    "groups_delta": "group.Group",
    "organization": "organization.Organization",
    "subscribed_skus": "subscribed_sku.SubscribedSku",
    "mail_folders_delta": "mail_folder.MailFolder",
    "messages_delta": "message.Message",
    "message_attachments": "attachment.Attachment",
    "event_attachments": "attachment.Attachment",
    "calendars": "calendar.Calendar",
    "events_delta": "event.Event",
    "contact_folders_delta": "contact_folder.ContactFolder",
    "contacts": "contact.Contact",
    "contacts_delta": "contact.Contact",
    "drive_delta": "drive_item.DriveItem",
    "booking_businesses": "booking_business.BookingBusiness",
    "booking_appointments": "booking_appointment.BookingAppointment",
    "booking_customers": "booking_customer.BookingCustomer",
    "booking_services": "booking_service.BookingService",
    "booking_staffMembers": "booking_staff_member_base.BookingStaffMemberBase",
    "booking_customQuestions": "booking_custom_question.BookingCustomQuestion",
    "teams": "team.Team",
    "channels": "channel.Channel",
    "group_conversations": "conversation.Conversation",
    "planner_group_plans": "planner_plan.PlannerPlan",
    "planner_tasks": "planner_task.PlannerTask",
    "directory_audits": "directory_audit.DirectoryAudit",
    "sign_ins": "sign_in.SignIn",
}
NOT_ENTITIES = {"batch"}  # the $batch envelope: its inner answers are recorded and checked one by one


def model(route: str) -> type[Parsable]:
    """The msgraph-sdk class of a route's items."""
    module, cls = ROUTE_MODELS[route].rsplit(".", 1)
    return getattr(importlib.import_module(f"msgraph.generated.models.{module}"), cls)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Answer:
    route: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Answer]]:
    """Every 200 JSON answer of a full sync of the small tenant, then each route once more without $select."""
    tmp = tmp_path_factory.mktemp("conformance")
    seen: list[Answer] = []

    def record(req: Request, resp: Response) -> None:
        route = req.route
        if route is not None and route.kind in ("directory", "outlook", "graph") and resp.status == 200:
            seen.append(Answer(route.name, req.path, tuple(sorted(req.query.items())), resp.body))

    with (
        EmulatorServer(seed=3, scale="small", state_dir=tmp / "emulator") as emulator,
        pytest.MonkeyPatch.context() as mp,
    ):
        use_emulator(emulator, tmp, mp)
        emulator.emu.recorder = record
        run_sync(O365Auth.from_env(), PipelineConfig.from_env())
        firsts = {}
        for a in seen:  # each route's first request that opens a round (no paging token), if it had a $select
            if a.route not in NOT_ENTITIES and not {"$skiptoken", "$deltatoken"} & dict(a.query).keys():
                firsts.setdefault(a.route, a)
        headers = {"Authorization": f"Bearer {get_token(emulator)}"}
        with httpx.Client(base_url=emulator.base_url, verify=tls(emulator), headers=headers, timeout=60) as c:
            for a in firsts.values():
                query = {k: v for k, v in a.query if k != "$select"}
                if query != dict(a.query):
                    assert c.get(a.path, params=query).status_code == 200, a.path
        emulator.emu.recorder = None
        yield seen


def test_every_answer_the_pipeline_reads_is_graph_v1(answers: list[Answer]) -> None:
    routes = {a.route for a in answers} - NOT_ENTITIES
    unmapped = routes - ROUTE_MODELS.keys()
    assert not unmapped, f"routes without a v1.0 model in ROUTE_MODELS: {sorted(unmapped)}"
    report = Report()
    items = 0
    for a in answers:
        if a.route in NOT_ENTITIES:
            continue
        body = orjson.loads(a.body)
        values = body["value"] if isinstance(body.get("value"), list) else [body]
        for i, item in enumerate(values):
            check_object(model(a.route), item, report, f"{a.route} {a.path}[{i}]")
        items += len(values)
    answered = len([a for a in answers if a.route not in NOT_ENTITIES])
    print(
        f"\nconformance: {len(routes)} routes, {answered} answers, {items} items, "
        f"{len(report.properties)} distinct properties of {len({c for c, _ in report.properties})} types, "
        f"{report.values} values checked; {len(report.violations)} violations"
    )
    assert not report.violations, "\n".join(
        f"{what} (e.g. {where})" for what, where in sorted(report.violations.items())
    )
    assert len(routes) >= 25 and len(report.properties) >= 200  # the sync really read every entity


def test_the_check_fails_on_undeclared_properties_types_and_enum_values() -> None:
    report = Report()
    check_object(model("mail_folders_delta"), {"id": "f", "displayName": "Inbox", "sizeInBytes": 1}, report, "a")
    message = {"id": "m", "isRead": "true", "importance": "urgent", "from": {"emailAddress": {"address": 5}}}
    check_object(model("messages_delta"), message, report, "b")
    attachment = {"@odata.type": "#microsoft.graph.fileAttachment", "id": "a", "contentBytes": "aGk=", "x": 1}
    check_object(model("message_attachments"), attachment, report, "c")
    check_object(model("message_attachments"), {"@odata.type": "#microsoft.graph.madeUp", "id": "z"}, report, "d")
    assert set(report.violations) == {
        "MailFolder.sizeInBytes: not a v1.0 property",
        "Message.isRead: 'true' is not what v1.0 declares (bool_value)",
        "Message.importance: 'urgent' is not a member of Importance",
        "EmailAddress.address: 5 is not what v1.0 declares (str_value)",
        "FileAttachment.x: not a v1.0 property",
        "@odata.type '#microsoft.graph.madeUp' is not Attachment or a type derived from it",
    }
    assert ("FileAttachment", "contentBytes") in report.properties  # the derived type's own properties
