"""Certificate stores for AzureServicePrincipalCert: PEM/PFX loading, subject pick, thumbprints."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from .errors import O365AuthError

CERT = "O365_OAUTH_JWT_CERT"
PASSWORD = "O365_OAUTH_JWT_CERT_PASSWORD"
SUBJECT = "O365_OAUTH_JWT_CERT_SUBJECT"

_PEM_KEY = re.compile(r"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.*?-----END \1-----", re.DOTALL)
PrivateKey = rsa.RSAPrivateKey


@dataclass(frozen=True)
class CertificateCredential:
    """A certificate and its private key, ready for msal (unencrypted PEM, in memory only)."""

    subject: str
    thumbprint_sha256: str
    not_after: dt.datetime
    certificate_pem: str
    private_key_pem: str = field(repr=False)

    def msal_credential(self) -> dict[str, str]:
        """The `client_credential` dict msal signs a PS256 assertion with (x5t#S256, x5c)."""
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}


def thumbprint_sha256(cert: x509.Certificate) -> str:
    """Upper-case hex SHA-256 thumbprint, as the Entra portal shows it."""
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def x5t_s256(cert: x509.Certificate) -> str:
    """The `x5t#S256` JWT header value: base64url SHA-256 thumbprint, padding kept (as msal sends it)."""
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode()


def x5t_sha1(cert: x509.Certificate) -> str:
    """The legacy `x5t` JWT header value: base64url SHA-1 thumbprint, padding kept."""
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode()  # noqa: S303 - protocol field


def common_name(cert: x509.Certificate) -> str | None:
    """The certificate's subject CN, if any."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise O365AuthError(f"{CERT} is not valid base64 ({what})", setting=CERT) from None


def _read_file(value: str) -> bytes:
    path = Path(value.strip()).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise O365AuthError(f"cannot read certificate file {str(path)!r}: {exc.strerror}", setting=CERT) from None


def _password_bytes(password: str | None) -> bytes | None:
    return password.encode() if password else None


def _load_pem_key(block: bytes, password: str | None) -> PrivateKey:
    encrypted = b"ENCRYPTED" in block.split(b"\n", 1)[0] or b"Proc-Type: 4,ENCRYPTED" in block
    try:
        key = serialization.load_pem_private_key(block, password=_password_bytes(password) if encrypted else None)
    except TypeError:
        raise O365AuthError(f"the private key in {CERT} is encrypted: set {PASSWORD}", setting=PASSWORD) from None
    except ValueError:
        if encrypted:
            raise O365AuthError(f"wrong {PASSWORD} for the private key in {CERT}", setting=PASSWORD) from None
        raise O365AuthError(f"the private key in {CERT} cannot be read", setting=CERT) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise O365AuthError(f"the private key in {CERT} must be RSA (PS256 assertions)", setting=CERT)
    return key


def _pair(certs: list[x509.Certificate], keys: list[PrivateKey]) -> list[tuple[x509.Certificate, PrivateKey | None]]:
    def numbers(key: PrivateKey) -> rsa.RSAPublicNumbers:
        return key.public_key().public_numbers()

    by_public = [(numbers(k), k) for k in keys]
    pairs: list[tuple[x509.Certificate, PrivateKey | None]] = []
    for cert in certs:
        public = cert.public_key()
        match = None
        if isinstance(public, rsa.RSAPublicKey):
            match = next((k for n, k in by_public if n == public.public_numbers()), None)
        pairs.append((cert, match))
    return pairs


def _from_pem(data: bytes, password: str | None) -> list[tuple[x509.Certificate, PrivateKey | None]]:
    if b"-----BEGIN" not in data:
        raise O365AuthError(f"{CERT} holds no PEM data (expected key and certificate)", setting=CERT)
    text = data.decode("ascii", errors="replace").replace("\\n", "\n").replace("\r\n", "\n")
    keys = [_load_pem_key(m.group(0).encode(), password) for m in _PEM_KEY.finditer(text)]
    try:
        certs = x509.load_pem_x509_certificates(text.encode()) if "BEGIN CERTIFICATE" in text else []
    except ValueError:
        raise O365AuthError(f"a certificate in {CERT} cannot be read", setting=CERT) from None
    if not certs:
        raise O365AuthError(f"{CERT} holds no certificate (PEM needs the key and the certificate)", setting=CERT)
    if not keys:
        raise O365AuthError(f"{CERT} holds no private key (PEM needs the key and the certificate)", setting=CERT)
    return _pair(certs, keys)


def _from_pfx(data: bytes, password: str | None) -> list[tuple[x509.Certificate, PrivateKey | None]]:
    attempts = [_password_bytes(password)] if password else [None, b""]
    store = None
    for attempt in attempts:
        try:
            store = pkcs12.load_pkcs12(data, attempt)
            break
        except ValueError:
            continue
    if store is None:
        if password:
            raise O365AuthError(f"cannot open the PFX store in {CERT}: wrong {PASSWORD}?", setting=PASSWORD)
        raise O365AuthError(
            f"cannot open the PFX store in {CERT}: not a PFX, or encrypted (set {PASSWORD})", setting=PASSWORD
        )
    certs = ([store.cert.certificate] if store.cert else []) + [c.certificate for c in store.additional_certs]
    key = store.key
    if key is not None and not isinstance(key, rsa.RSAPrivateKey):
        raise O365AuthError(f"the private key in {CERT} must be RSA (PS256 assertions)", setting=CERT)
    if not certs:
        raise O365AuthError(f"the PFX store in {CERT} holds no certificate", setting=CERT)
    return _pair(certs, [key] if key is not None else [])


def load_store(value: str, cert_type: str, password: str | None) -> list[tuple[x509.Certificate, PrivateKey | None]]:
    """Every certificate of the store with its private key (None when the store lacks it)."""
    if cert_type == "PEMKEY_BLOB":
        raw = value.encode() if "-----BEGIN" in value else _b64decode(value, "PEMKEY_BLOB: base64 or raw PEM")
        return _from_pem(raw, password)
    if cert_type == "PEMKEY_FILE":
        return _from_pem(_read_file(value), password)
    if cert_type == "PFXFILE":
        return _from_pfx(_read_file(value), password)
    if cert_type == "PFXBLOB":
        return _from_pfx(_b64decode(value, "PFXBLOB"), password)
    raise O365AuthError(f"unknown O365_OAUTH_JWT_CERT_TYPE {cert_type!r}", setting="O365_OAUTH_JWT_CERT_TYPE")


def _parts(subject: str) -> set[str]:
    return {p.strip().replace(" = ", "=").casefold() for p in re.split(r"[,/;]", subject) if p.strip()}


def _subject_matches(cert: x509.Certificate, wanted: str, exact: bool) -> bool:
    cn = common_name(cert)
    if exact and cn is not None and cn.casefold() == wanted.strip().casefold():
        return True
    have, want = _parts(cert.subject.rfc4514_string()), _parts(wanted)
    return have == want if exact else bool(want) and want <= have


def pick(
    pairs: list[tuple[x509.Certificate, PrivateKey | None]], subject: str = "*"
) -> tuple[x509.Certificate, PrivateKey]:
    """Pick by subject: `*` is the first certificate with a key; else CN or full subject, then partial."""
    usable = [(c, k) for c, k in pairs if k is not None]
    if not usable:
        raise O365AuthError(f"no certificate in {CERT} matches a private key in it", setting=CERT)
    if subject.strip() in ("", "*"):
        return usable[0]
    for exact in (True, False):
        for cert, key in sorted(pairs, key=lambda pair: pair[1] is None):  # prefer those with a key
            if _subject_matches(cert, subject, exact):
                if key is None:
                    raise O365AuthError(
                        f"certificate {cert.subject.rfc4514_string()!r} in {CERT} has no private key",
                        setting=CERT,
                    )
                return cert, key
    present = "; ".join(c.subject.rfc4514_string() for c, _ in pairs)
    raise O365AuthError(f"no certificate with subject {subject!r} in {CERT}; present: {present}", setting=SUBJECT)


def load_credential(
    value: str,
    cert_type: str = "PEMKEY_BLOB",
    password: str | None = None,
    subject: str = "*",
    now: dt.datetime | None = None,
) -> CertificateCredential:
    """Load the store, pick the certificate, check its validity dates, return it for msal."""
    cert, key = pick(load_store(value, cert_type, password), subject)
    moment = now or dt.datetime.now(dt.UTC)
    name = cert.subject.rfc4514_string()
    if cert.not_valid_after_utc <= moment:
        raise O365AuthError(
            f"certificate {name!r} in {CERT} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            setting=CERT,
        )
    if cert.not_valid_before_utc > moment:
        raise O365AuthError(
            f"certificate {name!r} in {CERT} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            setting=CERT,
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return CertificateCredential(
        subject=name,
        thumbprint_sha256=thumbprint_sha256(cert),
        not_after=cert.not_valid_after_utc,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=key_pem,
    )
