"""Certificate store loading: PEM/PFX, blob/file, encryption, subject pick, expiry, thumbprints."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from o365_pipeline.auth import O365AuthError
from o365_pipeline.auth.certificates import load_credential, thumbprint_sha256, x5t_s256

from .certgen import GeneratedCert, b64, make_cert

PASSWORD = "s3cret-pass-word"


@pytest.fixture(scope="module")
def app_cert() -> GeneratedCert:
    return make_cert("o365-pipeline-app", slot=0)


def test_pem_blob_raw_and_base64_and_escaped_newlines(app_cert: GeneratedCert) -> None:
    expected = thumbprint_sha256(app_cert.cert)
    raw = app_cert.pem()
    for value in (raw, b64(raw), raw.replace("\n", "\\n")):
        credential = load_credential(value, "PEMKEY_BLOB")
        assert credential.thumbprint_sha256 == expected
        assert "BEGIN PRIVATE KEY" in credential.private_key_pem
        assert credential.subject == "CN=o365-pipeline-app,O=Contoso"


def test_pem_file_and_unreadable_file(app_cert: GeneratedCert, tmp_path: Path) -> None:
    path = tmp_path / "app.pem"
    path.write_text(app_cert.pem())
    assert load_credential(str(path), "PEMKEY_FILE").thumbprint_sha256 == thumbprint_sha256(app_cert.cert)
    with pytest.raises(O365AuthError) as info:
        load_credential(str(tmp_path / "missing.pem"), "PEMKEY_FILE")
    assert info.value.setting == "O365_OAUTH_JWT_CERT"
    assert "missing.pem" in str(info.value)


def test_pfx_file_and_blob_plain_and_encrypted(app_cert: GeneratedCert, tmp_path: Path) -> None:
    expected = thumbprint_sha256(app_cert.cert)
    path = tmp_path / "app.pfx"
    path.write_bytes(app_cert.pfx())
    assert load_credential(str(path), "PFXFILE").thumbprint_sha256 == expected
    assert load_credential(b64(app_cert.pfx()), "PFXBLOB").thumbprint_sha256 == expected
    encrypted = b64(app_cert.pfx(PASSWORD))
    assert load_credential(encrypted, "PFXBLOB", password=PASSWORD).thumbprint_sha256 == expected


@pytest.mark.parametrize("password", [None, "wrong-password"])
def test_pfx_missing_or_wrong_password(app_cert: GeneratedCert, password: str | None) -> None:
    with pytest.raises(O365AuthError) as info:
        load_credential(b64(app_cert.pfx(PASSWORD)), "PFXBLOB", password=password)
    assert info.value.setting == "O365_OAUTH_JWT_CERT_PASSWORD"
    assert PASSWORD not in str(info.value) and "\n" not in str(info.value)


def test_encrypted_pem_key(app_cert: GeneratedCert) -> None:
    blob = app_cert.pem(PASSWORD)
    assert "ENCRYPTED PRIVATE KEY" in blob
    credential = load_credential(blob, "PEMKEY_BLOB", password=PASSWORD)
    assert "ENCRYPTED" not in credential.private_key_pem
    for password in (None, "wrong-password"):
        with pytest.raises(O365AuthError) as info:
            load_credential(blob, "PEMKEY_BLOB", password=password)
        assert info.value.setting == "O365_OAUTH_JWT_CERT_PASSWORD"
        assert PASSWORD not in str(info.value)


def test_subject_selection_from_a_store_with_several() -> None:
    first = make_cert("first-app", org="Fabrikam", slot=1)
    second = make_cert("second-app", org="Contoso", slot=2)
    store = first.pem() + second.pem()
    pick = {
        "*": first,
        "second-app": second,
        "CN=second-app": second,
        "CN=second-app,O=Contoso": second,
        "O=Contoso, CN=second-app": second,
        "cn=FIRST-APP": first,
        "O=Fabrikam": first,  # partial match
    }
    for subject, cert in pick.items():
        assert load_credential(store, subject=subject).thumbprint_sha256 == thumbprint_sha256(cert.cert), subject
    with pytest.raises(O365AuthError) as info:
        load_credential(store, subject="CN=third-app")
    message = str(info.value)
    assert info.value.setting == "O365_OAUTH_JWT_CERT_SUBJECT"
    assert "CN=first-app,O=Fabrikam" in message and "CN=second-app,O=Contoso" in message


def test_certificate_without_its_key_is_not_picked(app_cert: GeneratedCert) -> None:
    other = make_cert("no-key-app", slot=3)
    store = other.cert_pem() + app_cert.pem()
    assert load_credential(store).thumbprint_sha256 == thumbprint_sha256(app_cert.cert)
    with pytest.raises(O365AuthError, match="has no private key"):
        load_credential(store, subject="no-key-app")
    with pytest.raises(O365AuthError, match="holds no private key"):
        load_credential(app_cert.cert_pem())


def test_expired_and_not_yet_valid() -> None:
    expired = make_cert("old-app", slot=4, days=-2, start_days=-30)
    with pytest.raises(O365AuthError, match="expired on") as info:
        load_credential(expired.pem())
    assert info.value.setting == "O365_OAUTH_JWT_CERT"
    future = make_cert("future-app", slot=4, days=30, start_days=2)
    with pytest.raises(O365AuthError, match="not valid before"):
        load_credential(future.pem())
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert load_credential(future.pem(), now=later).subject.startswith("CN=future-app")


def test_garbage_inputs_name_the_setting() -> None:
    for value, cert_type in (
        ("not base64 !!", "PEMKEY_BLOB"),
        (b64("hello"), "PEMKEY_BLOB"),
        ("@@", "PFXBLOB"),
    ):
        with pytest.raises(O365AuthError) as info:
            load_credential(value, cert_type)
        assert info.value.setting in ("O365_OAUTH_JWT_CERT", "O365_OAUTH_JWT_CERT_PASSWORD"), str(info.value)
        assert "\n" not in str(info.value)


def test_thumbprints(app_cert: GeneratedCert) -> None:
    digest = app_cert.cert.fingerprint(hashes.SHA256())
    assert thumbprint_sha256(app_cert.cert) == digest.hex().upper()
    value = x5t_s256(app_cert.cert)
    assert value.endswith("=") and base64.urlsafe_b64decode(value) == digest


def test_credential_repr_hides_the_key(app_cert: GeneratedCert) -> None:
    credential = load_credential(app_cert.pem())
    assert "PRIVATE KEY" not in repr(credential)
    assert credential.msal_credential()["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_subject_prefers_the_certificate_that_has_its_key() -> None:
    keyless = make_cert("twin-app", slot=3)
    with_key = make_cert("twin-app", slot=2)
    store = keyless.cert_pem() + with_key.pem()
    assert load_credential(store, subject="twin-app").thumbprint_sha256 == thumbprint_sha256(with_key.cert)
