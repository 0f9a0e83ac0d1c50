"""Client-side pacing: never more than Graph's documented request limits, even when the server does not throttle.

Each limit reads "at most N requests in any W seconds" (Outlook: 10,000 per 10 minutes per app and mailbox;
Graph overall: 130,000 per 10 seconds per app). The pacer keeps a sliding window per scope (the whole client,
each mailbox) and holds a request back until every scope it spends in has room. A ``$batch`` spends one
request for itself plus one per request inside it, in the scope of that request's mailbox, as Graph meters it.
A 429 holds back only its scope (one mailbox, or everything for a request that is not a mailbox's).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import SettingError
from .errors import Cancelled

GLOBAL = ""  # the scope of every request of the client
_OUTLOOK = re.compile(
    r"^/?(?:v1\.0/)?users/([^/?]+)/(?:mailFolders|messages|calendars?|calendarView|events|contactFolders|contacts)\b"
)


def mailbox_of(url: str) -> str | None:
    """The mailbox (user id as written) an Outlook URL reads, relative to ``/v1.0``; None for other URLs."""
    match = _OUTLOOK.match(url)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Limit:
    """At most ``requests`` in any ``seconds``."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, setting: str, value: str) -> Limit:
        """``N/SECONDS`` with an optional unit (``130000/10s``, ``10000/10m``); bad input names the setting."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", value)
        if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
            raise SettingError(
                setting, f"{value!r} is not a limit; write requests/seconds, e.g. 10000/600 or 10000/10m"
            )
        unit = {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(3)]
        return cls(int(match.group(1)), float(match.group(2)) * unit)

    def __str__(self) -> str:
        return f"{self.requests}/{self.seconds:g}s"


@dataclass(frozen=True)
class PacingSettings:
    """The limits the client keeps to (defaults: Graph's documented ones)."""

    overall: Limit = Limit(130_000, 10.0)
    mailbox: Limit = Limit(10_000, 600.0)
    mailbox_concurrency: int = 4
    give_up_seconds: float = 900.0  # a request throttled without a break for this long fails the run
    # requests in flight overall: Graph documents no such limit for an app (only 4 per mailbox for Outlook and
    # the request rates above); against Graph's ~150 ms answers 16 left a 500-mailbox tenant's sync bound by
    # our own concurrency: bench tenant, emulator latency 150ms+1ms/item, 149 s at 16, 49 s at 64, 31 s at 128
    # and at 256 (26.7 s on loopback in the same minutes)
    max_in_flight: int = 128

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PacingSettings:
        """Read ``O365_GRAPH_LIMIT``, ``O365_MAILBOX_LIMIT``, ``O365_MAILBOX_CONCURRENCY``,
        ``O365_THROTTLED_GIVE_UP_SECONDS``, ``O365_MAX_IN_FLIGHT``."""
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, fallback: float, kind: type[int] | type[float]) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return fallback
            try:
                value = kind(raw)
            except ValueError:
                raise SettingError(name, f"{raw!r} is not a positive number") from None
            if value <= 0:
                raise SettingError(name, f"{raw!r} is not a positive number")
            return value

        def limit(name: str, fallback: Limit) -> Limit:
            raw = env.get(name, "").strip()
            return Limit.parse(name, raw) if raw else fallback

        return cls(
            overall=limit("O365_GRAPH_LIMIT", default.overall),
            mailbox=limit("O365_MAILBOX_LIMIT", default.mailbox),
            mailbox_concurrency=int(number("O365_MAILBOX_CONCURRENCY", default.mailbox_concurrency, int)),
            give_up_seconds=number("O365_THROTTLED_GIVE_UP_SECONDS", default.give_up_seconds, float),
            max_in_flight=int(number("O365_MAX_IN_FLIGHT", default.max_in_flight, int)),
        )


class _Window:
    """Requests spent in one scope during the last ``seconds`` (a running total over a log of entries).

    An entry is stamped when its request is sent and stamped again when its answer arrives: the server counts
    it at some moment in between, so our window never forgets a request before the server's does.
    """

    __slots__ = ("limit", "seconds", "log", "used", "hold_until")

    def __init__(self, limit: Limit) -> None:
        self.limit = limit.requests
        self.seconds = limit.seconds * 1.01 + 0.02  # clock granularity and rounding
        self.log: deque[list[float]] = deque()  # [stamp, cost], nearly in stamp order
        self.used = 0
        self.hold_until = 0.0

    def wait(self, cost: int, now: float) -> float:
        """Seconds until ``cost`` more fits (0: it fits now)."""
        horizon = now - self.seconds
        while self.log and self.log[0][0] <= horizon:
            self.used -= int(self.log.popleft()[1])
        if self.hold_until > now:
            return self.hold_until - now
        excess = self.used + cost - self.limit
        if excess <= 0 or not self.log:  # a cost above the limit still goes, alone
            return 0.0
        latest = 0.0
        for stamp, spent in self.log:  # the oldest entries must expire; a restamped one may be later
            latest = max(latest, stamp)
            excess -= int(spent)
            if excess <= 0:
                break
        return max(0.001, latest + self.seconds - now)

    def spend(self, cost: int, now: float) -> list[float]:
        entry = [now, float(cost)]
        self.log.append(entry)
        self.used += cost
        return entry


class Pacer:
    """Sliding windows for the whole client and for each mailbox, shared by every thread of a client."""

    def __init__(self, settings: PacingSettings, cancelled: threading.Event | None = None) -> None:
        self.settings = settings
        self.cancelled = cancelled or threading.Event()  # set: waiting threads raise Cancelled
        self._lock = threading.Lock()
        self._overall = _Window(settings.overall)
        self._mailboxes: dict[str, _Window] = {}
        self.waited = 0.0  # seconds threads spent held back (summed over threads)

    def _window(self, scope: str) -> _Window:
        if scope == GLOBAL:
            return self._overall
        window = self._mailboxes.get(scope)
        if window is None:
            window = self._mailboxes[scope] = _Window(self.settings.mailbox)
        return window

    def acquire(self, overall: int, mailboxes: Mapping[str, int]) -> list[list[float]]:
        """Block until ``overall`` requests fit the client's window and each mailbox's count fits its own;
        then spend them. Returns the entries to pass to :meth:`answered`."""
        while True:
            with self._lock:
                now = time.monotonic()
                windows = [(self._overall, overall)] + [(self._window(m), n) for m, n in mailboxes.items()]
                delay = max(window.wait(cost, now) for window, cost in windows)
                if delay <= 0:
                    return [window.spend(cost, now) for window, cost in windows]
                self.waited += delay
            if self.cancelled.wait(delay):
                raise Cancelled()

    def answered(self, entries: list[list[float]]) -> None:
        """The answer is in: the server counted the request by now, so it stays in our windows from now."""
        now = time.monotonic()
        with self._lock:
            for entry in entries:
                entry[0] = now

    def hold(self, scope: str, seconds: float) -> None:
        """After a 429: hold back every request of ``scope`` (a mailbox, or :data:`GLOBAL`) for ``seconds``."""
        with self._lock:
            window = self._window(scope)
            window.hold_until = max(window.hold_until, time.monotonic() + seconds)
