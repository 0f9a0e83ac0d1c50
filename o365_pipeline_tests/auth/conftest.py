"""Fixtures: the real emulator (HTTPS on loopback) per scheme, and an unrelated CA in the environment."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from o365_pipeline.emulator import EmulatorServer


def _unrelated_ca(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unrelated Corporate Root CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="session")
def unrelated_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA that signed nothing the tests talk to."""
    return _unrelated_ca(tmp_path_factory.mktemp("corp") / "corporate-ca.pem")


@pytest.fixture(autouse=True)
def corporate_trust_env(monkeypatch: pytest.MonkeyPatch, unrelated_ca: Path) -> Path:
    """Like a corporate machine: REQUESTS_CA_BUNDLE & co point at a CA unrelated to the emulator."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, str(unrelated_ca))
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return unrelated_ca


def _server(tmp_path_factory: pytest.TempPathFactory, scheme: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=3, scale="small", scheme=scheme, state_dir=tmp_path_factory.mktemp(scheme)) as server:
        yield server


@pytest.fixture(scope="module")
def sp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """Emulator for AzureServicePrincipal."""
    yield from _server(tmp_path_factory, "AzureServicePrincipal")


@pytest.fixture(scope="module")
def cert_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """Emulator for AzureServicePrincipalCert (it registers a generated certificate)."""
    yield from _server(tmp_path_factory, "AzureServicePrincipalCert")


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[EmulatorServer]:
    """An emulator of its own, for tests that change identity settings."""
    with EmulatorServer(seed=3, scale="small", scheme="AzureServicePrincipal", state_dir=tmp_path) as server:
        yield server


def admin(server: EmulatorServer, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call an /_emulator admin route."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(server.ca_path))) as client:
        response = client.request(method, f"{server.base_url}/_emulator/{path}", json=body)
    response.raise_for_status()
    return response.json()


def token_requests(server: EmulatorServer) -> int:
    """How many token endpoint answers the emulator sent."""
    return sum(admin(server, "GET", "stats")["by_route"].get("token", {}).values())


def graph_get(server: EmulatorServer, token: str, path: str = "users?$top=1&$select=id") -> httpx.Response:
    """GET a Graph v1.0 path on the emulator with a bearer token."""
    context = ssl.create_default_context(cafile=str(server.ca_path))
    with httpx.Client(verify=context) as client:
        return client.get(f"{server.base_url}/v1.0/{path}", headers={"Authorization": f"Bearer {token}"})
