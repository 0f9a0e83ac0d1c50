"""Bookings routes under ``/solutions/bookingBusinesses``: businesses (list answers id and displayName,
as the docs show; ``query=`` matches names), one business, and its appointments, calendarView
(``start`` and ``end`` required), customers, services, staffMembers and customQuestions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..odata import Shape
from ..router import SEG, GraphError, Request, Response
from ..tenant_bookings import BookingWorkloads
from ..workload_http import CTX, render_entity, render_list
from ..workload_kit import parse_datetime_ticks
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

BASE = r"/solutions/bookingBusinesses"
BUSINESS_LIST = Shape("microsoft.graph.bookingBusiness", ("displayName",), "graph")
BUSINESS = Shape("microsoft.graph.bookingBusiness", None, "graph")
PAGE = 100
MAX_PAGE = 999
COLLECTIONS: dict[str, tuple[str, str]] = {
    # path segment: (OData type, truth table)
    "appointments": ("microsoft.graph.bookingAppointment", "booking_appointments"),
    "customers": ("microsoft.graph.bookingCustomer", "booking_customers"),
    "services": ("microsoft.graph.bookingService", "booking_services"),
    "staffMembers": ("microsoft.graph.bookingStaffMember", "booking_staff_members"),
    "customQuestions": ("microsoft.graph.bookingCustomQuestion", "booking_custom_questions"),
}


def _getter(bookings: BookingWorkloads, segment: str) -> Callable[[int], list[dict[str, Any]]]:
    return {
        "appointments": bookings.appointments,
        "customers": bookings.customers,
        "services": bookings.services,
        "staffMembers": bookings.staff_members,
        "customQuestions": bookings.custom_questions,
    }[segment]


def register(emu: Emulator) -> None:
    """Add the Bookings routes and truth sources."""
    bookings = workloads_for(emu).bookings
    r = emu.router

    def business_index(business_id: str) -> int:
        index = bookings.index_of(business_id)
        if index is None:
            raise GraphError(404, "ErrorItemNotFound", f"The booking business '{business_id}' was not found.")
        return index

    @r.graph("GET", BASE, name="booking_businesses", kind="graph")
    def businesses(req: Request) -> Response:
        items = bookings.businesses()
        query = req.query.get("query")
        if query:
            items = [b for b in items if query.lower() in b["displayName"].lower()]
        return render_list(
            req,
            emu,
            scope="bookingBusinesses",
            items=items,
            shape=BUSINESS_LIST,
            context="https://graph.microsoft.com/v1.0/solutions/$metadata#bookingBusinesses",
            default=PAGE,
            maximum=MAX_PAGE,
        )

    @r.graph("GET", rf"{BASE}/(?P<business>{SEG})", name="booking_business", kind="graph")
    def business(req: Request) -> Response:
        body = bookings.business(business_index(req.params["business"]))
        return render_entity(
            req, body, BUSINESS, "https://graph.microsoft.com/v1.0/$metadata#solutions/bookingBusinesses/$entity"
        )

    def collection(segment: str, odata_type: str) -> Callable[[Request], Response]:
        shape = Shape(odata_type, None, "graph")
        get = _getter(bookings, segment)

        def handler(req: Request) -> Response:
            index = business_index(req.params["business"])
            return render_list(
                req,
                emu,
                scope=f"booking:{segment}:{index}",
                items=get(index),
                shape=shape,
                context=CTX + f"solutions/bookingBusinesses('{bookings.business_id(index)}')/{segment}",
                default=PAGE,
                maximum=MAX_PAGE,
            )

        return handler

    for segment, (odata_type, table) in COLLECTIONS.items():
        r.add(
            "GET",
            rf"{BASE}/(?P<business>{SEG})/{segment}",
            collection(segment, odata_type),
            name=f"booking_{segment}",
            kind="graph",
        )
        emu.add_truth(table, lambda table=table: bookings.truth_ids()[table])

    appointment = Shape("microsoft.graph.bookingAppointment", None, "graph")

    @r.graph("GET", rf"{BASE}/(?P<business>{SEG})/calendarView", name="booking_calendar_view", kind="graph")
    def calendar_view(req: Request) -> Response:
        index = business_index(req.params["business"])
        try:
            start = parse_datetime_ticks(req.query["start"])
            end = parse_datetime_ticks(req.query["end"])
        except (KeyError, ValueError):
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "calendarView needs both 'start' and 'end' query parameters as ISO 8601 date-times.",
            ) from None
        items = [a for a in bookings.appointments(index) if a["_start"] < end and a["_end"] > start]
        return render_list(
            req,
            emu,
            scope=f"booking:calendarView:{index}",
            items=items,
            shape=appointment,
            context=CTX + f"solutions/bookingBusinesses('{bookings.business_id(index)}')/calendarView",
            default=PAGE,
            maximum=MAX_PAGE,
        )

    emu.add_truth("booking_businesses", lambda: bookings.truth_ids()["booking_businesses"])
    emu.add_mutator(
        "booking_appointments", lambda op, count, rng: bookings.mutate_appointments(op, count, rng, emu.clock.tick)
    )
