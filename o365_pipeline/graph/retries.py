"""One retry policy for every Graph request: a single request and the requests inside a ``$batch`` alike.

A request goes out in rounds (one request, or one ``$batch`` of the requests still pending) and each round that
does not finish says why in a :class:`Verdict`. A failed try (500/502/503/504, a broken connection, a truncated
body, a batched request left unanswered) waits its ``Retry-After`` or a jittered exponential backoff and counts
against ``max_attempts``. A throttled answer (429) holds back its scope in the pacer (its mailbox, or everything)
for its ``Retry-After``, so every thread of that scope waits, not only this one; it is not a failed try for as
long as throttling lasts (``give_up_seconds``). Cancelling the client ends every wait at once.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .errors import Cancelled, GraphError
from .pacing import Pacer

if TYPE_CHECKING:
    from .client import RequestStats

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MIN_PAUSE = 0.05  # seconds a 429 holds its scope back at least, whatever its Retry-After says
MAX_DOUBLINGS = 7  # a 429 without Retry-After backs off at most base * 2**7 (64 s at the default base)

T = TypeVar("T")


def retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After``: seconds (possibly fractional, ``2.128``) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class Verdict:
    """A round that did not finish: what to wait for before the next one, and what to raise when retrying ends.

    No waits and no holds: send again at once (the token was just refreshed).

    Attributes:
        error: raised once the tries run out or throttling lasted too long.
        waits: one per failed try, its ``Retry-After`` in seconds (``None``: backoff).
        holds: one per throttled answer, the pacer scope it holds back and its ``Retry-After`` (``None``: backoff).
    """

    error: GraphError
    waits: list[float | None] = field(default_factory=list)
    holds: list[tuple[str, float | None]] = field(default_factory=list)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a request is retried (the client's settings)."""

    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_cap: float = 60.0
    give_up_seconds: float = 900.0

    def backoff(self, attempt: int) -> float:
        """Jittered exponential backoff before try ``attempt + 1``: half to all of ``base * 2**attempt``, capped."""
        return min(self.backoff_cap, self.backoff_base * 2**attempt) * (0.5 + random.random() / 2)

    def run(
        self,
        send: Callable[[], T | Verdict],
        *,
        pacer: Pacer,
        cancelled: threading.Event,
        stats: RequestStats,
    ) -> T:
        """Send rounds until one finishes (``send`` returns its result, not a :class:`Verdict`), honouring each
        verdict's waits and holds.

        Raises:
            GraphError: the last verdict's error, after ``max_attempts`` failed tries or ``give_up_seconds`` of
                throttling without a failed try.
            Cancelled: the client was cancelled (before a round, or during a wait).
        """
        attempt = bounced = 0
        throttled_since: float | None = None
        while True:
            if cancelled.is_set():
                raise Cancelled()
            outcome = send()
            if not isinstance(outcome, Verdict):
                return outcome
            stats.add(retries=len(outcome.waits) + len(outcome.holds), throttled=len(outcome.holds))
            for scope, retry_after in outcome.holds:  # the scope waits, not only this thread; never a busy loop
                pause = (
                    self.backoff(min(bounced, MAX_DOUBLINGS)) if retry_after is None else max(retry_after, MIN_PAUSE)
                )
                pacer.hold(scope, pause)
            if outcome.waits:
                wait = max(self.backoff(attempt) if w is None else w for w in outcome.waits)
                attempt += 1
                if cancelled.wait(wait):
                    raise Cancelled()
                if attempt >= self.max_attempts:
                    raise outcome.error
            elif outcome.holds:  # honouring Retry-After is not a failed try, as long as throttling lasts
                now = time.monotonic()
                throttled_since = now if throttled_since is None else throttled_since
                if now - throttled_since > self.give_up_seconds:
                    raise outcome.error
                bounced += 1
