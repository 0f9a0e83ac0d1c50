"""AzureServicePrincipalCert against the emulator: every store type, subject pick, SN+I, assertion checks."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from msal.oauth2cli.assertion import JwtAssertionCreator

from o365_pipeline.auth import O365Auth, O365AuthError
from o365_pipeline.auth.transport import PinnedTrustSession
from o365_pipeline.emulator import EmulatorServer

from .certgen import GeneratedCert, b64, make_cert
from .conftest import graph_get

PASSWORD = "pfx-pass-7781"


def _registered(server: EmulatorServer) -> tuple[dict[str, str], GeneratedCert]:
    env = server.env()
    data = Path(env["O365_OAUTH_JWT_CERT"]).read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE-----") :])
    return env, GeneratedCert(key=key, cert=cert)  # type: ignore[arg-type]


def test_exported_cert_file_gets_a_token_graph_accepts(cert_server: EmulatorServer) -> None:
    env = cert_server.env()
    assert env["O365_OAUTH_JWT_CERT_TYPE"] == "PEMKEY_FILE"
    assert Path(env["O365_OAUTH_JWT_CERT"]).stat().st_mode & 0o777 == 0o600
    token = O365Auth.from_env(env).get_token()
    assert graph_get(cert_server, token).status_code == 200


def test_every_store_type_with_the_registered_cert(cert_server: EmulatorServer, tmp_path: Path) -> None:
    env, registered = _registered(cert_server)
    pfx_path = tmp_path / "app.pfx"
    pfx_path.write_bytes(registered.pfx(PASSWORD))
    variants = [
        {"O365_OAUTH_JWT_CERT": registered.pem(), "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB"},
        {"O365_OAUTH_JWT_CERT": b64(registered.pem(PASSWORD)), "O365_OAUTH_JWT_CERT_PASSWORD": PASSWORD},
        {
            "O365_OAUTH_JWT_CERT": str(pfx_path),
            "O365_OAUTH_JWT_CERT_TYPE": "PFXFILE",
            "O365_OAUTH_JWT_CERT_PASSWORD": PASSWORD,
        },
        {"O365_OAUTH_JWT_CERT": b64(registered.pfx()), "O365_OAUTH_JWT_CERT_TYPE": "PFXBLOB"},
    ]
    for variant in variants:
        settings = {**env, "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB", **variant}
        token = O365Auth.from_env(settings).get_token()
        assert graph_get(cert_server, token).status_code == 200, variant.get("O365_OAUTH_JWT_CERT_TYPE")


def test_subject_picks_the_registered_cert_from_a_store(cert_server: EmulatorServer) -> None:
    env, registered = _registered(cert_server)
    stranger = make_cert("stranger-app", slot=5)
    store = stranger.pem() + registered.pem()
    settings = {**env, "O365_OAUTH_JWT_CERT": store, "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB"}
    picked = O365Auth.from_env({**settings, "O365_OAUTH_JWT_CERT_SUBJECT": "o365-pipeline app"}).get_token()
    assert graph_get(cert_server, picked).status_code == 200
    with pytest.raises(O365AuthError) as info:  # `*` takes the first: not registered
        O365Auth.from_env(settings).get_token()
    assert "AADSTS700027" in str(info.value) and info.value.setting == "O365_OAUTH_JWT_CERT"
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env({**settings, "O365_OAUTH_JWT_CERT_SUBJECT": "CN=missing"}).get_token()
    assert info.value.setting == "O365_OAUTH_JWT_CERT_SUBJECT" and "stranger-app" in str(info.value)


def test_expired_cert_fails_before_any_request(cert_server: EmulatorServer) -> None:
    expired = make_cert("o365-pipeline app", slot=6, days=-1, start_days=-20)
    env = {**cert_server.env(), "O365_OAUTH_JWT_CERT": expired.pem(), "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB"}
    with pytest.raises(O365AuthError, match="expired on") as info:
        O365Auth.from_env(env).get_token()
    assert info.value.setting == "O365_OAUTH_JWT_CERT"


def test_subject_name_issuer_auth_via_x5c(cert_server: EmulatorServer) -> None:
    trusted = make_cert("sni-app", org="Contoso SNI", slot=7)
    app = cert_server.identity.register_app("sni", trusted_subjects=[trusted.cert.subject.rfc4514_string()])
    env = {
        **cert_server.env(),
        "O365_OAUTH_CLIENT_ID": app.client_id,
        "O365_OAUTH_JWT_CERT": trusted.pem(),
        "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB",
    }
    assert graph_get(cert_server, O365Auth.from_env(env).get_token()).status_code == 200
    other = make_cert("other-app", slot=7)  # same key, other subject: not trusted
    with pytest.raises(O365AuthError, match="AADSTS700027"):
        O365Auth.from_env({**env, "O365_OAUTH_JWT_CERT": other.pem()}).get_token()


def test_subject_name_issuer_auth_checks_the_issuer(cert_server: EmulatorServer) -> None:
    ca = make_cert("Contoso Issuing CA", slot=9)
    issued = make_cert("issued-app", slot=10, issuer=ca)
    subject = issued.cert.subject.rfc4514_string()
    app = cert_server.identity.register_app(
        "sni-ca", trusted_subjects=[subject], trusted_issuers=[ca.cert_pem().encode()]
    )
    env = {**cert_server.env(), "O365_OAUTH_CLIENT_ID": app.client_id, "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB"}
    assert O365Auth.from_env({**env, "O365_OAUTH_JWT_CERT": issued.pem()}).get_token()
    self_signed = make_cert("issued-app", slot=10)  # same subject and key, but not issued by the CA
    with pytest.raises(O365AuthError, match="AADSTS700027"):
        O365Auth.from_env({**env, "O365_OAUTH_JWT_CERT": self_signed.pem()}).get_token()


def _msal_app(server: EmulatorServer, env: dict[str, str], credential: dict[str, Any]) -> msal.ClientApplication:
    return msal.ConfidentialClientApplication(
        env["O365_OAUTH_CLIENT_ID"],
        client_credential=credential,
        authority=f"{server.base_url}/{env['O365_AZURE_TENANT']}",
        http_client=PinnedTrustSession(str(server.ca_path)),
        instance_discovery=False,
    )


def test_emulator_checks_signature_alg_audience_and_expiry(cert_server: EmulatorServer) -> None:
    env, registered = _registered(cert_server)
    scope = ["https://graph.microsoft.com/.default"]
    sha1 = registered.cert.fingerprint(hashes.SHA1()).hex()
    rs256 = _msal_app(cert_server, env, {"private_key": registered.key_pem(), "thumbprint": sha1})
    assert "access_token" in rs256.acquire_token_for_client(scope)  # RS256 + x5t
    forged = make_cert("forger", slot=8)  # registered cert's thumbprint, another key's signature
    app = _msal_app(cert_server, env, {"private_key": forged.key_pem(), "public_certificate": registered.cert_pem()})
    result = app.acquire_token_for_client(scope)
    assert result.get("error_codes") == [700027] and "signature" in result["error_description"]

    endpoint = f"{cert_server.base_url}/{cert_server.identity.tenant_id}/oauth2/v2.0/token"
    s256 = base64.urlsafe_b64encode(registered.cert.fingerprint(hashes.SHA256())).decode()
    creator = JwtAssertionCreator(registered.key_pem(), "PS256", headers={"x5t#S256": s256})
    cases = {
        700024: creator.create_normal_assertion(endpoint, env["O365_OAUTH_CLIENT_ID"], expires_at=time.time() - 900),
        700212: creator.create_normal_assertion("https://elsewhere/token", env["O365_OAUTH_CLIENT_ID"]),
        0: creator.create_normal_assertion(endpoint, env["O365_OAUTH_CLIENT_ID"]),
    }
    for code, assertion in cases.items():
        value = assertion.decode() if isinstance(assertion, bytes) else assertion
        app = _msal_app(cert_server, env, {"client_assertion": lambda value=value: value})  # type: ignore[dict-item]
        result = app.acquire_token_for_client(scope)
        if code:
            assert result.get("error_codes") == [code], json.dumps(result)[:300]
        else:
            assert "access_token" in result, result
