"""Microsoft Bookings businesses of the emulated tenant and their appointments, customers, services,
staff members and custom questions: pure functions of ``(seed, business index)``; only appointment
changes made by `mutate` are stored (an `Overlay`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from .workload_directory import Directory, UserRef
from .workload_kit import EPOCH_TICKS, TICKS_PER_SECOND, JsonDict, b64_id, fmt_ticks, guid, rng_for
from .workload_overlay import Overlay, copy_with, mutation_time, run_mutation

HOUR = 3600 * TICKS_PER_SECOND
DAY = 24 * HOUR
_NAMES = ("Lunch Delivery", "Bike Repair", "IT Helpdesk", "Legal Advice", "Tax Clinic", "Dental Care", "Coaching")
_FIRST = ("Jordan", "Sam", "Alex", "Robin", "Kim", "Taylor", "Morgan", "Casey", "Jamie", "Avery")
_LAST = ("Smith", "Garcia", "Chen", "Novak", "Okafor", "Rossi", "Tanaka", "Silva", "Berg", "Dubois")
_SERVICES = ("Consultation", "Follow-up", "Initial assessment", "Workshop", "Express service", "Full review")
_QUESTIONS = ("What is your order number?", "How did you hear about us?", "Anything we should prepare?")


def _iso_local(ticks: int) -> str:
    return fmt_ticks(ticks)[:-1] + "+00:00"


def _dttz(ticks: int) -> JsonDict:
    return {"dateTime": _iso_local(ticks), "timeZone": "UTC"}


class BookingWorkloads:
    """The tenant's Bookings businesses and their collections."""

    def __init__(self, directory: Directory, businesses: int) -> None:
        self.directory = directory
        self.seed = directory.seed
        self.count = businesses
        self._licensed: tuple[int, list[UserRef]] = (-1, [])
        self.overlay = Overlay()

    def _users(self) -> list[UserRef]:
        version = self.directory.users_version()
        if self._licensed[0] != version:
            self._licensed = (version, [u for u in self.directory.users() if u.licensed])
        return self._licensed[1]

    def business_id(self, index: int) -> str:
        """A business id: its SMTP address (``LunchDelivery3@contoso.onmicrosoft.com``)."""
        name = _NAMES[index % len(_NAMES)].replace(" ", "")
        return f"{name}{index}@{self.directory.domain}"

    def index_of(self, business_id: str) -> int | None:
        """The index of a business id (case-insensitive), or None."""
        local = business_id.split("@")[0]
        digits = "".join(ch for ch in reversed(local) if ch.isdigit())[::-1]
        if not digits or not local.endswith(digits):
            return None
        index = int(digits)
        if index < self.count and self.business_id(index).lower() == business_id.lower():
            return index
        return None

    def businesses(self) -> list[JsonDict]:
        """Every business (full objects)."""
        return [self.business(i) for i in range(self.count)]

    def business(self, index: int) -> JsonDict:
        """The bookingBusiness resource."""
        rng = rng_for(self.seed, "booking", index)
        bid = self.business_id(index)
        name = f"{_NAMES[index % len(_NAMES)]} {index}"
        created = EPOCH_TICKS - rng.randint(100, 900) * DAY
        hours = [
            {
                "day": day,
                "timeSlots": [{"startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000"}],
            }
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        ]
        return {
            "id": bid,
            "displayName": name,
            "businessType": rng.choice(("Food", "Repair", "Professional services", "Health")),
            "phone": f"+1 425 555 {3000 + index:04d}",
            "email": bid,
            "webSiteUrl": f"https://www.example.com/{bid.split('@')[0].lower()}",
            "defaultCurrencyIso": "USD",
            "isPublished": rng.random() < 0.8,
            "publicUrl": f"https://outlook.office365.com/owa/calendar/{bid}/bookings/",
            "languageTag": "en-US",
            "address": {
                "street": f"{rng.randint(1, 999)} Main Street",
                "city": "Redmond",
                "state": "WA",
                "countryOrRegion": "USA",
                "postalCode": "98052",
            },
            "businessHours": hours,
            "schedulingPolicy": {
                "timeSlotInterval": "PT30M",
                "minimumLeadTime": "P1D",
                "maximumAdvance": "P365D",
                "sendConfirmationsToOwner": True,
                "allowStaffSelection": True,
            },
            "createdDateTime": fmt_ticks(created),
            "lastUpdatedDateTime": fmt_ticks(created + rng.randint(1, 90) * DAY),
        }

    def _rng(self, index: int, what: str) -> random.Random:
        return rng_for(self.seed, "booking", index, what)

    def staff_members(self, index: int) -> list[JsonDict]:
        """Staff members: some are tenant users, some external."""
        rng = self._rng(index, "staff")
        users = self._users()
        out = []
        for n in range(rng.randint(2, 8)):
            user = rng.choice(users) if users and rng.random() < 0.7 else None
            name = user.display_name if user else f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            created = EPOCH_TICKS - rng.randint(50, 800) * DAY
            out.append(
                {
                    "@odata.type": "#microsoft.graph.bookingStaffMember",
                    "id": guid(self.seed, "booking-staff", index, n),
                    "displayName": name,
                    "emailAddress": user.mail if user else f"{name.replace(' ', '.').lower()}@example.com",
                    "role": rng.choice(("administrator", "teamMember", "scheduler", "guest")),
                    "timeZone": "UTC",
                    "useBusinessHours": True,
                    "availabilityIsAffectedByPersonalCalendar": rng.random() < 0.5,
                    "isEmailNotificationEnabled": True,
                    "membershipStatus": "active",
                    "workingHours": [],
                    "createdDateTime": fmt_ticks(created),
                    "lastUpdatedDateTime": fmt_ticks(created + rng.randint(0, 40) * DAY),
                }
            )
        return out

    def custom_questions(self, index: int) -> list[JsonDict]:
        """Custom questions asked when booking."""
        rng = self._rng(index, "questions")
        out = []
        for n in range(rng.randint(1, len(_QUESTIONS))):
            radio = n == 1
            created = EPOCH_TICKS - rng.randint(50, 800) * DAY
            out.append(
                {
                    "id": guid(self.seed, "booking-question", index, n),
                    "displayName": _QUESTIONS[n],
                    "answerInputType": "radioButton" if radio else "text",
                    "answerOptions": ["Web search", "A friend", "Advertising"] if radio else [],
                    "createdDateTime": fmt_ticks(created),
                    "lastUpdatedDateTime": fmt_ticks(created),
                }
            )
        return out

    def services(self, index: int) -> list[JsonDict]:
        """Services offered."""
        rng = self._rng(index, "services")
        staff = [s["id"] for s in self.staff_members(index)]
        questions = [q["id"] for q in self.custom_questions(index)]
        out = []
        for n in range(rng.randint(2, 6)):
            minutes = rng.choice((15, 30, 45, 60, 90))
            created = EPOCH_TICKS - rng.randint(50, 800) * DAY
            out.append(
                {
                    "id": guid(self.seed, "booking-service", index, n),
                    "displayName": f"{_SERVICES[n % len(_SERVICES)]}",
                    "defaultDuration": f"PT{minutes // 60}H{minutes % 60}M" if minutes >= 60 else f"PT{minutes}M",
                    "defaultPrice": float(rng.choice((0, 25, 49.5, 80, 120))),
                    "defaultPriceType": rng.choice(("fixedPrice", "startingAt", "free", "hourly")),
                    "description": f"{_SERVICES[n % len(_SERVICES)]} with one of our staff",
                    "isHiddenFromCustomers": rng.random() < 0.1,
                    "isLocationOnline": rng.random() < 0.4,
                    "smsNotificationsEnabled": False,
                    "maximumAttendeesCount": rng.choice((1, 1, 1, 5)),
                    "notes": "",
                    "preBuffer": "PT0S",
                    "postBuffer": rng.choice(("PT0S", "PT10M")),
                    "staffMemberIds": rng.sample(staff, k=rng.randint(1, len(staff))),
                    "customQuestions": [{"questionId": q, "isRequired": rng.random() < 0.5} for q in questions],
                    "languageTag": "en-US",
                    "webUrl": f"https://outlook.office365.com/owa/calendar/{self.business_id(index)}/bookings/s/{n}",
                    "createdDateTime": fmt_ticks(created),
                    "lastUpdatedDateTime": fmt_ticks(created + rng.randint(0, 40) * DAY),
                }
            )
        return out

    def customers(self, index: int) -> list[JsonDict]:
        """Customers who booked."""
        rng = self._rng(index, "customers")
        out = []
        for n in range(rng.randint(5, 30)):
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            created = EPOCH_TICKS - rng.randint(1, 500) * DAY
            out.append(
                {
                    "@odata.type": "#microsoft.graph.bookingCustomer",
                    "id": guid(self.seed, "booking-customer", index, n),
                    "displayName": name,
                    "emailAddress": f"{name.replace(' ', '.').lower()}{n}@example.org",
                    "addresses": [],
                    "phones": [{"number": f"+1 206 555 {rng.randint(1000, 9999)}", "type": "mobile"}],
                    "createdDateTime": fmt_ticks(created),
                    "lastUpdatedDateTime": fmt_ticks(created + rng.randint(0, 40) * DAY),
                }
            )
        return out

    def appointments(self, index: int) -> list[JsonDict]:
        """Appointments from two months before to two months after the tenant epoch, by start."""
        out = self.overlay.apply(f"appointments:{index}", self._generated_appointments(index))
        out.sort(key=lambda a: (a["_start"], a["id"]))
        return out

    def _generated_appointments(self, index: int) -> list[JsonDict]:
        rng = self._rng(index, "appointments")
        services = self.services(index)
        customers = self.customers(index)
        bid = self.business_id(index)
        out = []
        for n in range(rng.randint(10, 40)):
            service = rng.choice(services)
            customer = rng.choice(customers)
            start = EPOCH_TICKS + rng.randint(-60, 60) * DAY + rng.randint(8, 16) * HOUR
            minutes = rng.choice((15, 30, 60))
            end = start + minutes * 60 * TICKS_PER_SECOND
            created = start - rng.randint(1, 30) * DAY
            online = service["isLocationOnline"]
            out.append(
                {
                    "id": b64_id(b"\x00\x03\x24\x00", 64, self.seed, "booking-appt", index, n),
                    "selfServiceAppointmentId": guid(self.seed, "booking-self", index, n),
                    "additionalInformation": "",
                    "isLocationOnline": online,
                    "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/{guid(bid, n)}" if online else None,
                    "anonymousJoinWebUrl": None,
                    "appointmentLabel": "",
                    "customerTimeZone": "UTC",
                    "smsNotificationsEnabled": False,
                    "serviceId": service["id"],
                    "serviceName": service["displayName"],
                    "duration": f"PT{minutes}M" if minutes < 60 else "PT1H",
                    "preBuffer": service["preBuffer"],
                    "postBuffer": service["postBuffer"],
                    "priceType": service["defaultPriceType"],
                    "price": service["defaultPrice"],
                    "serviceNotes": None,
                    "optOutOfCustomerEmail": False,
                    "isCustomerAllowedToManageBooking": True,
                    "staffMemberIds": service["staffMemberIds"][:1],
                    "maximumAttendeesCount": service["maximumAttendeesCount"],
                    "filledAttendeesCount": 1,
                    "createdDateTime": fmt_ticks(created),
                    "lastUpdatedDateTime": fmt_ticks(created + rng.randint(0, DAY)),
                    "startDateTime": _dttz(start),
                    "endDateTime": _dttz(end),
                    "serviceLocation": {"displayName": "Online" if online else "Front desk", "locationType": None},
                    "reminders": [],
                    "customers": [
                        {
                            "@odata.type": "#microsoft.graph.bookingCustomerInformation",
                            "customerId": customer["id"],
                            "name": customer["displayName"],
                            "emailAddress": customer["emailAddress"],
                            "phone": customer["phones"][0]["number"],
                            "notes": None,
                            "location": None,
                            "timeZone": "UTC",
                            "customQuestionAnswers": [],
                        }
                    ],
                    "_start": start,
                    "_end": end,
                }
            )
        return out

    def mutate_appointments(self, op: str, count: int, rng: random.Random, tick: Callable[[], int]) -> list[str]:
        """Book, reschedule (one day later) or cancel appointments of random businesses; returns ids."""

        def pick(r: random.Random) -> tuple[str, list[JsonDict]] | None:
            if self.count == 0:
                return None
            index = r.randrange(self.count)
            return f"appointments:{index}", self.appointments(index)

        def make(scope: str, items: list[JsonDict], r: random.Random) -> JsonDict:
            seq = tick()
            index = int(scope.split(":", 1)[1])
            template = items[0] if items else self._generated_appointments(index)[0]
            start = EPOCH_TICKS + r.randint(1, 30) * DAY + r.randint(8, 16) * HOUR
            end = start + 30 * 60 * TICKS_PER_SECOND
            return copy_with(
                template,
                id=b64_id(b"\x00\x03\x24\x00", 64, self.seed, "booking-appt-new", index, seq),
                selfServiceAppointmentId=guid(self.seed, "booking-self-new", index, seq),
                createdDateTime=mutation_time(seq),
                lastUpdatedDateTime=mutation_time(seq),
                duration="PT30M",
                startDateTime=_dttz(start),
                endDateTime=_dttz(end),
                _start=start,
                _end=end,
            )

        def change(item: JsonDict, r: random.Random) -> JsonDict:
            seq = tick()
            start, end = item["_start"] + DAY, item["_end"] + DAY
            return copy_with(
                item,
                startDateTime=_dttz(start),
                endDateTime=_dttz(end),
                _start=start,
                _end=end,
                lastUpdatedDateTime=mutation_time(seq),
            )

        return run_mutation("booking_appointments", op, count, rng, pick, make, change, self.overlay)

    def truth_ids(self) -> dict[str, Iterator[str]]:
        """Truth id streams per raw table (all these Graph ids are tenant-unique)."""
        n = self.count
        return {
            "booking_businesses": (self.business_id(i) for i in range(n)),
            "booking_appointments": (a["id"] for i in range(n) for a in self.appointments(i)),
            "booking_customers": (c["id"] for i in range(n) for c in self.customers(i)),
            "booking_services": (s["id"] for i in range(n) for s in self.services(i)),
            "booking_staff_members": (s["id"] for i in range(n) for s in self.staff_members(i)),
            "booking_custom_questions": (q["id"] for i in range(n) for q in self.custom_questions(i)),
        }
