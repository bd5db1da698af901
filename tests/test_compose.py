"""compose.yaml: what its services run, checked against the app started as the image starts it."""

import subprocess
import sys

from tests.support.compose import (
    OPERATOR_SHELL,
    compose_services,
    container_environment,
    healthcheck_command,
)
from tests.support.servers import REPO, AppServer, server_environment

PROBE_TIMEOUT = 30  # compose's default health check timeout


def test_web_health_check_passes_against_production_gunicorn_with_compose_defaults(tmp_path):
    web = compose_services(OPERATOR_SHELL)["web"]
    # SQLite answers the health check's query as PostgreSQL does.
    environment = container_environment(
        "web", database_url=f"sqlite:///{tmp_path / 'compose.sqlite3'}"
    )
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


def test_only_the_proxy_is_published_and_it_serves_what_the_app_writes():
    services = compose_services(OPERATOR_SHELL)
    web, proxy, static = services["web"], services["proxy"], services["static"]

    assert "ports" not in web
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    # The config tests/reliability/test_proxy.py runs, where the official image reads it.
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    # Uploads the app writes to MEDIA_ROOT are what nginx serves from /srv/media/.
    assert "media:/app/media" in web["volumes"] and "media:/srv/media:ro" in proxy["volumes"]
    # The image's collected static files (STATIC_ROOT) are what nginx serves from /srv/static/.
    assert "static:/srv/static" in static["volumes"]
    assert "/app/staticfiles/." in static["command"][-1]
    assert "static:/srv/static:ro" in proxy["volumes"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"


def test_worker_service_runs_the_database_task_worker_under_production_settings(tmp_path):
    worker = compose_services(OPERATOR_SHELL)["worker"]
    environment = container_environment(
        "worker", database_url=f"sqlite:///{tmp_path / 'compose.sqlite3'}"
    )
    assert worker["command"] == ["python", "manage.py", "db_worker"]
    assert environment["TASKS_BACKEND"] == "database"

    result = subprocess.run(
        [sys.executable, "manage.py", "help", "db_worker"],
        cwd=REPO,
        env=server_environment(**environment),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "usage: manage.py db_worker" in result.stdout
