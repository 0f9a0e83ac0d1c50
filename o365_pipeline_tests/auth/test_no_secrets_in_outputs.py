"""No secret in anything failing and succeeding runs write: output, Dagster event log, DuckDB, dlt folder, cache dir."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.defs.ingestion import o365_raw_tables, raw_asset_key
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.identity import exports_for_scheme

from .certgen import GeneratedCert, b64
from .conftest import admin
from .leaks import file_texts, find_leaks, pem_lines, token_variants
from .runs import child_env, run_cli

PASSWORD = "store-pass-5519"
WRONG_PASSWORD = "not-the-pass-2207"
WRONG_SECRET = "emu~wrong-secret-4411-abcdefghijklmnop"
SYNC = ["sync", "--entities", "users"]


def _settings(server: EmulatorServer, scheme: str, state_dir: Path) -> dict[str, str]:
    return exports_for_scheme(
        scheme, identity=server.identity, base_url=server.base_url, ca_path=server.ca_path, state_dir=state_dir
    )


def _encrypted_cert_blob(cert_file: Path) -> str:
    """The registered key + certificate as a base64 PEMKEY_BLOB with the key encrypted by PASSWORD."""
    data = cert_file.read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE-----") :])
    return b64(GeneratedCert(key=key, cert=cert).pem(PASSWORD))  # type: ignore[arg-type]


def _materialize_users(
    instance: dg.DagsterInstance, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dg.ExecuteInProcessResult:
    """The users raw asset in-process, settings read through EnvVar as a run launched from the UI does."""
    with monkeypatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        return dg.materialize(
            [o365_raw_tables],
            selection=[raw_asset_key("users")],
            instance=instance,
            raise_on_error=False,
            resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        )


def test_no_secret_leaks_from_failing_or_succeeding_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"  # everything the runs write goes under here; the emulator's files do not
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "emulator") as server:
        admin(server, "POST", "identity", {"token_lifetime": 60})  # under the 5 minute margin: always refresh
        sp = _settings(server, "AzureServicePrincipal", tmp_path / "emulator")
        cert_file = Path(_settings(server, "AzureServicePrincipalCert", tmp_path / "emulator")["O365_OAUTH_JWT_CERT"])
        blob = _encrypted_cert_blob(cert_file)
        cert = {
            **_settings(server, "AzureServicePrincipalCert", tmp_path / "emulator"),
            "O365_OAUTH_JWT_CERT": blob,
            "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB",
            "O365_OAUTH_JWT_CERT_PASSWORD": PASSWORD,
        }
        ad = _settings(server, "AzureAD", out / "cache")
        cache_file = Path(ad["O365_TOKEN_CACHE"])

        texts: list[tuple[str, str]] = []

        def cli(label: str, args: list[str], settings: dict[str, str], status: int) -> None:
            done = run_cli(args, child_env(settings, out / label))
            assert done.returncode == status, f"{label}: {done.stdout}{done.stderr[-1500:]}"
            texts.extend([(f"{label} stdout", done.stdout), (f"{label} stderr", done.stderr)])

        def dagster(label: str, settings: dict[str, str], success: bool) -> None:
            env = {k: v for k, v in child_env(settings, out / label).items() if k.startswith(("O365_", "DLT_"))}
            result = _materialize_users(instance, env, monkeypatch)
            assert result.success is success, label
            events = instance.all_logs(result.run_id)
            assert len(events) > 5
            texts.append((f"{label} event log", "\n".join(dg.serialize_value(event) for event in events)))
            captured = capfd.readouterr()
            texts.extend([(f"{label} stdout", captured.out), (f"{label} stderr", captured.err)])

        (out / "dagster_home").mkdir(parents=True)
        with dg.instance_for_test(temp_dir=str(out / "dagster_home")) as instance:
            cli("sp-wrong-secret", SYNC, {**sp, "O365_OAUTH_CLIENT_SECRET": WRONG_SECRET}, 1)
            cli("cert-wrong-password", SYNC, {**cert, "O365_OAUTH_JWT_CERT_PASSWORD": WRONG_PASSWORD}, 1)
            cli("cert", SYNC, cert, 0)
            cli("ad-login", ["login"], ad, 0)
            capfd.readouterr()
            dagster("dagster-wrong-secret", {**sp, "O365_OAUTH_CLIENT_SECRET": WRONG_SECRET}, False)
            dagster("dagster-sp", sp, True)
            dagster("dagster-ad", ad, True)  # refresh_token grant inside the run
            server.identity.revoke_refresh_tokens()
            cli("ad-revoked", SYNC, ad, 1)  # the refresh fails: "run `o365-pipeline login`"

    secrets = {
        "client secret": sp["O365_OAUTH_CLIENT_SECRET"],
        "wrong client secret": WRONG_SECRET,
        "cert blob": blob,
        "cert password": PASSWORD,
        "wrong cert password": WRONG_PASSWORD,
        **pem_lines("encrypted key", base64.b64decode(blob).decode()),
        **pem_lines("key", cert_file.read_text().split("-----BEGIN CERTIFICATE-----")[0]),
    }
    issued = list(server.identity.issued_tokens)
    refresh_tokens = [t for t in issued if t.startswith("rt.")]
    assert len(refresh_tokens) >= 2 and len(issued) - len(refresh_tokens) >= 4
    for i, token in enumerate(issued):
        secrets.update(token_variants(f"{'refresh' if token.startswith('rt.') else 'access'} token {i}", token))

    cache_text = cache_file.read_text()
    assert any(token in cache_text for token in refresh_tokens)  # the tokens looked for are the ones runs held
    assert (out / "cert" / "o365.duckdb").exists() and (out / "dagster-sp" / "dlt").is_dir()
    texts += list(file_texts([out], exclude=[cache_file]))
    assert find_leaks(secrets, texts) == []


def test_the_leak_finder_sees_through_gzip_and_duckdb(tmp_path: Path) -> None:
    (tmp_path / "plain.log").write_text("token s3cr3t-plain here")
    (tmp_path / "load.jsonl.gz").write_bytes(gzip.compress(json.dumps({"v": "s3cr3t-gzip"}).encode()))
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        con.execute("create table t as select 's3cr3t-duck' || repeat('x', 200) as v from range(2000)")
    secrets = {"plain": "s3cr3t-plain", "gzip": "s3cr3t-gzip", "duck": "s3cr3t-duck", "absent": "s3cr3t-none"}
    found = find_leaks(secrets, file_texts([tmp_path]))
    assert {line.split(" in ")[0] for line in found} == {"plain", "gzip", "duck"}
