"""The life cycle shared by the hand-overs between one run's reader threads (graph/feed.py, graph/folder_feed.py).

One producer (a parent or folder table's reader) hands what it read to the threads of another table's reader.
Either side can end it: the producer reaches its end (:meth:`HandOver.end`) or stops before it
(:meth:`HandOver.stop`: the consumers fail), or the consumers are done (:meth:`HandOver.abandon`: later hand-overs
are dropped and a thread still waiting wakes). Subclasses hold what is handed over, under ``_cond``.
"""

from __future__ import annotations

import threading


class HandOver:
    """Ended, stopped or abandoned state of one producer-to-consumers hand-over, and the condition it is kept under."""

    def __init__(self, source: str) -> None:
        self.source = source  # the producing table, named in errors
        self._cond = threading.Condition()
        self._ended = False  # the producer reached its end
        self._error: BaseException | None = None  # ...or failed or stopped before it
        self._abandoned = False  # no consumer any more: hand-overs are dropped

    def end(self) -> None:
        """The producer reached its end: consumers finish once they took what was handed over."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def stop(self, error: BaseException | None = None) -> None:
        """The producer's side is over (its reader or its resource); before :meth:`end` that fails the consumers."""
        with self._cond:
            if not self._ended and self._error is None:
                self._error = error or RuntimeError(f"the {self.source} resource closed before its reader ended")
            self._cond.notify_all()

    def abandon(self) -> None:
        """The consumer side is over (its resource finished or failed): what waits and what comes later is dropped."""
        with self._cond:
            self._abandoned = True
            self._drop_waiting()
            self._cond.notify_all()

    def _drop_waiting(self) -> None:
        """Forget what was handed over and not taken (called under ``_cond``)."""

    def _open(self) -> bool:
        """Neither ended, stopped nor abandoned: a consumer with nothing to take waits."""
        return not self._ended and self._error is None and not self._abandoned
