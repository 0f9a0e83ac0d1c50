"""Fixtures: a real emulator on a loopback HTTPS port and token helpers."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer


def tls(server: EmulatorServer) -> ssl.SSLContext:
    """An SSL context trusting only the emulator's CA."""
    return ssl.create_default_context(cafile=str(server.ca_path))


def get_token(server: EmulatorServer, secret: str | None = None) -> str:
    """Client-credentials token straight from the token endpoint."""
    env = server.env()
    r = httpx.post(
        f"{server.base_url}/{env['O365_AZURE_TENANT']}/oauth2/v2.0/token",
        data={
            "client_id": env["O365_OAUTH_CLIENT_ID"],
            "client_secret": secret or env["O365_OAUTH_CLIENT_SECRET"],
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls(server),
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def graph_client(server: EmulatorServer) -> httpx.Client:
    """An httpx client trusting the emulator CA, with a bearer token."""
    return httpx.Client(
        base_url=server.base_url,
        verify=tls(server),
        headers={"Authorization": f"Bearer {get_token(server)}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """A small seeded tenant shared by a test module (tests that mutate use their own)."""
    with EmulatorServer(seed=3, scale="small") as s:
        yield s


@pytest.fixture()
def fresh() -> Iterator[EmulatorServer]:
    """A private emulator for tests that change state."""
    with EmulatorServer(seed=3, scale="small") as s:
        yield s


@pytest.fixture(scope="module")
def client(server: EmulatorServer) -> Iterator[httpx.Client]:
    """Authenticated client for the shared server."""
    with graph_client(server) as c:
        yield c


def all_pages(c: httpx.Client, url: str, headers: dict[str, str] | None = None) -> tuple[list[dict], int]:
    """Follow @odata.nextLink; returns (items, pages)."""
    items: list[dict] = []
    pages = 0
    while url:
        r = c.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["value"]
        pages += 1
        url = body.get("@odata.nextLink")
    return items, pages


def delta_round(c: httpx.Client, url: str, headers: dict[str, str] | None = None) -> tuple[list[dict], str]:
    """One delta round: (items, deltaLink)."""
    items: list[dict] = []
    while True:
        r = c.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def truth(server: EmulatorServer, id_type: str = "immutable") -> dict[str, dict]:
    """The emulator's /_emulator/truth entities, Outlook items' ids in ``id_type`` (``immutable`` or ``regular``)."""
    url = f"{server.base_url}/_emulator/truth?idType={id_type}"
    return httpx.get(url, verify=tls(server)).json()["entities"]


def mutate(server: EmulatorServer, ops: list[dict], seed: int = 1) -> dict:
    """POST /_emulator/mutate."""
    r = httpx.post(f"{server.base_url}/_emulator/mutate", json={"seed": seed, "ops": ops}, verify=tls(server))
    assert r.status_code == 200, r.text
    return r.json()
