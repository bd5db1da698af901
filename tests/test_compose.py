"""compose.yaml: what its services run, checked against the app started as the image starts it."""

import subprocess
import sys
from pathlib import Path

from tests.compose import (
    compose_services,
    dockerfile_environment,
    healthcheck_command,
    service_environment,
)
from tests.servers import REPO, AppServer, server_environment

# What an operator must export before `docker compose up` (compose refuses to start without).
OPERATOR_SHELL = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "SECRET_KEY": "x7-compose-test-secret-key-that-is-long-and-random-enough-9f3k2m",
}
PROBE_TIMEOUT = 30  # compose's default health check timeout


def container_environment(service: str, tmp_path: Path) -> dict[str, str]:
    """The environment a service's container gets: the image's ENV, then compose's."""
    services = compose_services(OPERATOR_SHELL)
    environment = {**dockerfile_environment(), **service_environment(services[service])}
    # There is no `db` host here; SQLite answers the health check's query the same way.
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'compose.sqlite3'}"
    return environment


def test_web_health_check_passes_against_production_gunicorn_with_compose_defaults(tmp_path):
    web = compose_services(OPERATOR_SHELL)["web"]
    environment = container_environment("web", tmp_path)
    assert environment["DJANGO_SETTINGS_MODULE"] == "site_config.settings.production"
    server = AppServer(
        "web", env=server_environment(**environment), log_path=tmp_path / "web.log", workers=1
    ).launch()
    try:
        server.wait_listening()
        command = healthcheck_command(web)
        assert command[0] == "python"
        # In the container gunicorn listens on $PORT; here the kernel picked the port.
        probe = subprocess.run(
            [sys.executable, *command[1:]],
            cwd=REPO,
            env=server_environment(**{**environment, "PORT": str(server.port)}),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
        )
    finally:
        server.stop()

    assert probe.returncode == 0, f"{probe.stderr}\n--- server log ---\n{server.log_tail()}"
    assert '"GET /healthz HTTP/1.1" 200' in server.log_text()
