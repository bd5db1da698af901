"""compose.yaml and the Dockerfile as a container would see them, for tests without Docker.

Docker is not available where the tests run, so a test reads what compose would run — a
service's environment with compose's ``${VAR:-default}`` interpolation applied, the image's
``ENV`` defaults from the Dockerfile, a health check's command — and runs that against the
app started the way the container starts it (gunicorn with the production settings).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

import yaml

from tests.support import REPO

COMPOSE_FILE = REPO / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
# What an operator must export before `docker compose up` (compose refuses to start without).
OPERATOR_SHELL = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "SECRET_KEY": "x7-compose-test-secret-key-that-is-long-and-random-enough-9f3k2m",
}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ for "$".
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Substitute variables in ``value`` as compose does; a missing required one raises."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = variables.get(name)
        unset_or_empty = current is None or (op is not None and op.startswith(":") and not current)
        if op in ("-", ":-") and unset_or_empty:
            return arg
        if op in ("?", ":?") and unset_or_empty:
            raise KeyError(f"compose needs {name}: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def _interpolated(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolated(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(item, variables) for key, item in node.items()}
    return node


def compose_services(variables: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """compose.yaml's services, interpolated with ``variables`` (the operator's shell)."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    return _interpolated(document["services"], variables)


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` as strings (compose accepts a mapping or a list)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def dockerfile_environment() -> dict[str, str]:
    """The ``ENV`` defaults the Dockerfile bakes into the image."""
    lines = DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
    found: dict[str, str] = {}
    for line in lines:
        if line.startswith("ENV "):
            for word in shlex.split(line.removeprefix("ENV ")):
                name, _, value = word.partition("=")
                found[name] = value
    return found


def healthcheck_command(service: Mapping[str, Any]) -> list[str]:
    """The command compose's health check runs in the container (``CMD`` form)."""
    test = service["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", test[1]]
    if test[0] != "CMD":
        raise ValueError(f"unexpected health check form: {test!r}")
    return list(test[1:])


def container_environment(service: str, *, database_url: str) -> dict[str, str]:
    """The environment a service's container gets: the image's ENV, then compose's.

    There is no ``db`` host outside compose: ``database_url`` names the test's database.
    """
    services = compose_services(OPERATOR_SHELL)
    environment = {**dockerfile_environment(), **service_environment(services[service])}
    environment["DATABASE_URL"] = database_url
    return environment
