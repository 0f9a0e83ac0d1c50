"""One retry policy for a single request and for the requests inside a ``$batch``: every case below runs both
ways against the real emulator, its answers injected on ``/organization`` (a single GET, or one inside $batch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.client import GraphClient
from o365_pipeline.graph.errors import Cancelled, GraphError
from o365_pipeline.graph.pacing import PacingSettings

WAYS = ["single", "batch"]
TOO_MANY = {"error": {"code": "TooManyRequests", "message": "slow down"}}
UNAVAILABLE = {"error": {"code": "serviceNotAvailable", "message": "try later"}}


@pytest.fixture
def inject(emulator: EmulatorServer) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """Set injection rules; returns a function reading them back (with hits). Cleared after the test."""

    def setting(*rules: dict[str, Any]) -> list[dict[str, Any]]:
        emulator.emu.inject.set(list(rules))
        return emulator.emu.inject.describe()

    yield setting
    emulator.emu.inject.set([])


def make(o365_env: dict[str, str], **settings: Any) -> GraphClient:
    """A client on the emulator with quick backoff (and the given retry settings)."""
    auth = O365Auth.from_env()
    pacing = PacingSettings(give_up_seconds=settings.pop("give_up_seconds", 900.0))
    token = lambda force_refresh: auth.get_token(force_refresh=force_refresh)  # noqa: E731
    return GraphClient(
        auth.endpoints().graph_root, token, auth.tls_verify(), pacing=pacing, backoff_base=0.02, **settings
    )


def read_organization(client: GraphClient, way: str) -> dict[str, Any]:
    """GET /organization alone, or inside a $batch (its error raised the same way)."""
    if way == "single":
        return client.get("organization")
    (answer,) = client.batch([("/organization", None)])
    if isinstance(answer, GraphError):
        raise answer
    return answer


def hits(emulator: EmulatorServer) -> int:
    return emulator.emu.inject.describe()[0]["hits"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("status", "retry_after", "body"),
    [(429, "0.4", TOO_MANY), (503, "0.4", UNAVAILABLE), (504, None, UNAVAILABLE)],
    ids=["429-retry-after", "503-retry-after", "504-backoff"],
)
def test_a_transient_answer_is_sent_again_after_its_retry_after(
    o365_env: dict[str, str],
    emulator: EmulatorServer,
    inject: Callable[..., Any],
    way: str,
    status: int,
    retry_after: str | None,
    body: dict[str, Any],
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    inject({"path": r"/organization", "status": status, "body": body, "headers": headers, "times": 1})
    with make(o365_env) as client:
        started = time.monotonic()
        page = read_organization(client, way)
        elapsed = time.monotonic() - started
        stats = client.stats.snapshot()
    assert page["value"] and page["value"][0]["id"]  # the answer of the second try
    assert hits(emulator) == 1
    assert stats["retries"] == 1 and stats["throttled"] == int(status == 429)
    assert stats["requests"] == 2  # $batch: only the throttled request went out again, alone
    if retry_after:
        assert elapsed >= float(retry_after)  # not sent again before Graph said


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("status", [429, 503])
def test_a_cancelled_client_ends_a_long_wait_at_once(
    o365_env: dict[str, str], emulator: EmulatorServer, inject: Callable[..., Any], way: str, status: int
) -> None:
    body = TOO_MANY if status == 429 else UNAVAILABLE
    inject({"path": r"/organization", "status": status, "body": body, "headers": {"Retry-After": "60"}})
    with make(o365_env) as client:
        timer = threading.Timer(0.5, client.cancel)  # another entity failed the run meanwhile
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(Cancelled):
                read_organization(client, way)  # throttled, or told to wait, for 60 s
        finally:
            timer.cancel()
    assert time.monotonic() - started < 5 and hits(emulator) == 1


@pytest.mark.parametrize("way", WAYS)
def test_throttling_without_a_break_gives_up_after_the_give_up_time(
    o365_env: dict[str, str], emulator: EmulatorServer, inject: Callable[..., Any], way: str
) -> None:
    inject({"path": r"/organization", "status": 429, "body": TOO_MANY, "headers": {"Retry-After": "0.1"}})
    with make(o365_env, give_up_seconds=0.5, max_attempts=2) as client:
        started = time.monotonic()
        with pytest.raises(GraphError) as caught:
            read_organization(client, way)
    assert caught.value.status == 429
    # throttled tries are not failed tries (max_attempts=2): Retry-After is honoured until give_up_seconds
    assert hits(emulator) >= 4 and 0.5 <= time.monotonic() - started < 5


@pytest.mark.parametrize("way", WAYS)
def test_failing_tries_end_after_max_attempts(
    o365_env: dict[str, str], emulator: EmulatorServer, inject: Callable[..., Any], way: str
) -> None:
    inject({"path": r"/organization", "status": 503, "body": UNAVAILABLE})
    with make(o365_env, max_attempts=3) as client, pytest.raises(GraphError) as caught:
        read_organization(client, way)
    assert caught.value.status == 503 and hits(emulator) == 3


@pytest.mark.parametrize("times", [1, None], ids=["once", "always"])
def test_a_batch_answer_leaving_a_request_out_is_a_failed_try(
    o365_env: dict[str, str], emulator: EmulatorServer, inject: Callable[..., Any], times: int | None
) -> None:
    # Before one policy, a round with nothing failed and nothing throttled sent the batch again at once, without
    # counting: an answer that kept leaving a request out was asked again in a tight loop until give_up_seconds
    # (9,949 POSTs in these 5 s), then failed as throttled.
    inject({"path": r"\$batch", "method": "POST", "body": {"responses": []}, "times": times})
    with make(o365_env, max_attempts=3, give_up_seconds=5.0) as client:
        if times == 1:
            assert read_organization(client, "batch")["value"]
            assert client.stats.snapshot()["retries"] == 1
        else:
            with pytest.raises(GraphError) as caught:
                read_organization(client, "batch")
            assert (caught.value.status, caught.value.code) == (503, "BatchFailed")
    assert hits(emulator) == (1 if times == 1 else 3)
