"""docker-compose.yml, checked without a container engine (none runs on these machines).

What can be checked here is checked: the `escalator` commands it runs exist
with the options it passes, the variables it sets for escalator are ones the
settings read, the variables it sets for other images are ones those images
document, every image is pinned, the build context has its Dockerfile, the
worker scales and starts only after the search attributes are registered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from ruamel.yaml import YAML

from escalator.cli.main import app
from escalator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ESCALATOR_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s)
OTHER_SERVICES = sorted(name for name, s in SERVICES.items() if "build" not in s)

# Variables other images read, as their own documentation names them.
DOCUMENTED_ENV: dict[str, set[str]] = {
    # https://hub.docker.com/_/postgres ("Environment Variables")
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},
    # temporalio/docker-builds docker/config_template.yaml and entrypoint of temporalio/server
    "temporalio/server": {
        "DB",
        "DB_PORT",
        "POSTGRES_USER",
        "POSTGRES_PWD",
        "POSTGRES_SEEDS",
        "BIND_ON_IP",
    },
    # temporal CLI: TEMPORAL_ADDRESS; temporal-sql-tool: SQL_PASSWORD (its --password flag)
    "temporalio/admin-tools": {"TEMPORAL_ADDRESS", "SQL_PASSWORD"},
    # https://docs.temporal.io/references/web-ui-environment-variables
    "temporalio/ui": {"TEMPORAL_ADDRESS", "TEMPORAL_CORS_ORIGINS"},
}
# Components later issues build; until then compose names a command that does not exist yet.
PENDING = {"worker": "issue 3", "receiver": "issue 4"}


def _cli_path(tokens: list[str]) -> tuple[Any, list[str]]:
    """Descend the CLI tree along `tokens`; return the command reached and the tokens left."""
    command: Any = typer.main.get_command(app)
    rest = list(tokens)
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def _cli_has(name: str) -> bool:
    _command, rest = _cli_path([name])
    return not rest


def _image_repo_and_tag(image: str) -> tuple[str, str | None]:
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return name, tag or None


def _command_params(service: str) -> list[Any]:
    command = SERVICES[service]["command"]
    marks = []
    first = command[0]
    if first in PENDING and not _cli_has(first):
        marks.append(
            pytest.mark.xfail(
                reason=f"`escalator {first}` is built by {PENDING[first]}", strict=True
            )
        )
    return [pytest.param(service, marks=marks, id=service)]


@pytest.mark.parametrize("service", [p for s in ESCALATOR_SERVICES for p in _command_params(s)])
def test_every_escalator_command_exists_with_its_options(service: str) -> None:
    tokens = SERVICES[service]["command"]
    assert isinstance(tokens, list), f"{service}: write the command as a list"
    command, rest = _cli_path(tokens)
    assert not hasattr(command, "commands"), f"{service}: `escalator {' '.join(tokens)}` is a group"
    assert command is not typer.main.get_command(app), f"{service}: no such command {tokens[0]}"
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for token in rest:
        if token.startswith("-"):
            assert token.split("=")[0] in known, f"{service}: unknown option {token}"


@pytest.mark.parametrize("service", ESCALATOR_SERVICES)
def test_escalator_environment_is_read_by_settings(service: str) -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    env = SERVICES[service].get("environment", {})
    assert env, f"{service}: escalator needs at least TEMPORAL_ADDRESS in a container"
    unknown = set(env) - aliases
    assert not unknown, f"{service}: {sorted(unknown)} are not read by escalator/settings.py"
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"


@pytest.mark.parametrize("service", OTHER_SERVICES)
def test_other_images_get_only_documented_variables(service: str) -> None:
    repo, _ = _image_repo_and_tag(SERVICES[service]["image"])
    documented = DOCUMENTED_ENV.get(repo)
    assert documented is not None, f"{service}: add the documented variables of {repo} here"
    unknown = set(SERVICES[service].get("environment", {})) - documented
    assert not unknown, f"{service}: {sorted(unknown)} are not documented for {repo}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_image_is_pinned(service: str) -> None:
    image = SERVICES[service]["image"]
    assert "$" not in image, f"{service}: {image} depends on a variable"
    _, tag = _image_repo_and_tag(image)
    assert tag is not None, f"{service}: {image} has no tag"
    assert tag != "latest", f"{service}: {image} is not pinned"
    assert re.fullmatch(r"\d+(\.\d+)+([-.][\w.-]+)?", tag), f"{service}: {image} not a version"


def test_build_context_has_a_pinned_dockerfile() -> None:
    contexts = {SERVICES[s]["build"] for s in ESCALATOR_SERVICES}
    for context in contexts:
        dockerfile = ROOT / context / "Dockerfile"
        assert dockerfile.is_file(), f"build context {context} has no Dockerfile"
        bases = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.M)
        assert bases, "Dockerfile has no FROM"
        for base in bases:
            _, tag = _image_repo_and_tag(base)
            assert tag and tag != "latest" and re.match(r"\d", tag), f"FROM {base} is not pinned"
        assert "pip install ." in dockerfile.read_text()
    assert (ROOT / ".dockerignore").is_file()


def test_workers_scale_and_wait_for_search_attributes() -> None:
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] >= 2
    # A fixed name or host port would make `--scale worker=N` fail.
    assert "container_name" not in worker and "ports" not in worker
    registration = SERVICES["register-search-attributes"]
    assert registration["command"][:2] == ["temporal", "register-search-attributes"]
    for service in ("worker", "receiver"):
        needs = SERVICES[service]["depends_on"]["register-search-attributes"]
        assert needs["condition"] == "service_completed_successfully"


def test_temporal_and_records_persist_to_postgresql() -> None:
    temporal = SERVICES["temporal"]["environment"]
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] in SERVICES
    assert SERVICES[temporal["POSTGRES_SEEDS"]]["image"].startswith("postgres:")
    url = SERVICES["worker"]["environment"]["ESCALATOR_DATABASE_URL"]
    host = re.search(r"@([\w-]+):", url)
    assert url.startswith("postgresql+psycopg://") and host
    assert SERVICES[host.group(1)]["image"].startswith("postgres:")
    assert set(COMPOSE["volumes"]) >= {"temporal-db", "records-db"}


def test_detection_runs_on_the_workers_not_in_a_watcher_service() -> None:
    """Detection on Temporal: the workers install the schedules, so no service runs
    `detect --watch` (it would raise beside them from a state file of its own)."""
    for name, service in SERVICES.items():
        command = service.get("command") or []
        assert not ("detect" in command and "--watch" in command), name
    worker_env = SERVICES["worker"]["environment"]
    assert "ESCALATOR_DETECT_EVERY" in worker_env
    # The source is a secret: it comes from escalator.env, never from this file.
    assert all("ESCALATOR_DETECT_SOURCE" not in s.get("environment", {}) for s in SERVICES.values())
