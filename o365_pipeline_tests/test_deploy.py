"""The deployment to copy (``deploy/``) stays in step with the code: Docker is not run here, so every command,
module, file and setting the compose file, the Dockerfile and the Helm values name is checked to exist."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from o365_pipeline.defs.partitions import MAILBOX_JOB, TENANT_TAG
from o365_pipeline.shards import mailbox_shards

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
HELM = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
INSTANCE = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
WORKSPACE = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())


def code_settings() -> set[str]:
    """Every ``O365_*`` name the package and the dbt profile read."""
    sources = [*ROOT.joinpath("o365_pipeline").rglob("*.py"), ROOT / "dbt_project" / "profiles.yml"]
    return {name for path in sources for name in re.findall(r"\bO365_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}


def instance_env(node: Any) -> Iterator[str]:
    """The environment variables a dagster.yaml reads (``{env: NAME}``)."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from instance_env(value)
    elif isinstance(node, list):
        for value in node:
            yield from instance_env(value)


def helm_env() -> dict[str, str]:
    (deployment,) = HELM["dagster-user-deployments"]["deployments"]
    return {item["name"]: str(item["value"]) for item in deployment["env"]}


def default_of(value: str) -> str:
    """The value compose gives ``${NAME:-default}`` (or the literal)."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    return match.group(1) if match else value


@pytest.mark.parametrize("service", [name for name, s in COMPOSE["services"].items() if "command" in s])
def test_every_compose_command_runs_here(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    executable = BIN / command[0]
    assert executable.exists(), f"{service}: {command[0]} is not installed by the package"
    # --help after the real arguments: click rejects an unknown command or option before printing help
    args = [arg if not arg.startswith("/opt/dagster/") else str(DEPLOY / Path(arg).name) for arg in command[1:]]
    done = subprocess.run([str(executable), *args, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{service}: {done.stderr[-1500:]}"


def test_every_module_and_file_named_exists() -> None:
    modules = [cmd[cmd.index("-m") + 1] for cmd in (s.get("command", []) for s in COMPOSE["services"].values())
               if "-m" in cmd]  # fmt: skip
    (deployment,) = HELM["dagster-user-deployments"]["deployments"]
    grpc = deployment["dagsterApiGrpcArgs"]
    modules.append(grpc[grpc.index("-m") + 1])
    assert modules and all(importlib.util.find_spec(module) for module in modules), modules

    for name, service in COMPOSE["services"].items():
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert not source.startswith(".") or (DEPLOY / source).is_file(), f"{name}: {source}"
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _target = line.split()[1:]
            assert all((ROOT / source).exists() for source in sources), line
    # the code location the webserver and the daemon reach is the compose service serving it
    (server,) = [entry["grpc_server"] for entry in WORKSPACE["load_from"]]
    code = COMPOSE["services"][server["host"]]["command"]
    assert code[code.index("-p") + 1] == str(server["port"])


def test_every_setting_named_is_one_the_code_reads() -> None:
    settings = COMPOSE["x-settings"]
    known = code_settings()
    for name in [*settings, *helm_env()]:
        assert not name.startswith("O365_") or name in known, f"{name} is read by nothing"
    needed = set(instance_env(INSTANCE))  # deploy/dagster.yaml's {env: ...} are all given
    assert needed and needed <= set(settings), needed - set(settings)
    assert settings["DAGSTER_HOME"] == "/opt/dagster/home"
    assert "ENV DAGSTER_HOME=/opt/dagster/home" in (DEPLOY / "Dockerfile").read_text()
    assert mailbox_shards({"O365_MAILBOX_SHARDS": default_of(settings["O365_MAILBOX_SHARDS"])}) > 0
    assert mailbox_shards({"O365_MAILBOX_SHARDS": helm_env()["O365_MAILBOX_SHARDS"]}) > 0
    assert settings["O365_DESTINATION"] == helm_env()["O365_DESTINATION"] == "postgres"


def test_helm_values_give_the_instance_of_deploy_dagster_yaml() -> None:
    runs = INSTANCE["concurrency"]["runs"]
    helm_runs = HELM["concurrency"]["runs"]
    assert helm_runs["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert helm_runs["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    assert {limit["key"] for limit in runs["tag_concurrency_limits"]} == {TENANT_TAG, "dagster/partition"}
    assert HELM["concurrency"]["pools"]["defaultLimit"] == INSTANCE["concurrency"]["pools"]["default_limit"]
    daemon = HELM["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == INSTANCE["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert daemon["runRetries"]["maxRetries"] == INSTANCE["run_retries"]["max_retries"]
    assert HELM["runLauncher"]["type"] == "K8sRunLauncher" and HELM["postgresql"]["enabled"]
    assert MAILBOX_JOB in (DEPLOY / "docker-compose.yml").read_text()  # the job its instructions name
