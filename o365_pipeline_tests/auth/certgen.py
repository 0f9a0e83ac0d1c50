"""Real certificates for the auth tests, generated with cryptography (no fixtures on disk)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class GeneratedCert:
    """A key and self-signed certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def key_pem(self, password: str | None = None) -> str:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ).decode()

    def pem(self, password: str | None = None) -> str:
        return self.key_pem(password) + self.cert_pem()

    def pfx(self, password: str | None = None, extra: list[x509.Certificate] | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(b"test", self.key, self.cert, extra, encryption)


@lru_cache(maxsize=8)
def _key(slot: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(
    cn: str,
    org: str = "Contoso",
    slot: int = 0,
    days: int = 30,
    start_days: int = -1,
    issuer: GeneratedCert | None = None,
) -> GeneratedCert:
    """A cert valid from now+start_days to now+days (negative days = expired); self-signed unless `issuer`."""
    key = _key(slot)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start_days))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return GeneratedCert(key=key, cert=cert)


def b64(data: str | bytes) -> str:
    """Base64 of text or bytes."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()
