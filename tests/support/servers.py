"""Run the real app in real server processes, for tests one process cannot make.

Several gunicorn servers sharing one PostgreSQL database, a worker killed in the middle of
a request, a database connection cut under a running transaction: these need the app as
it is deployed, outside the test runner.

- :class:`ServerDatabase` is a throwaway PostgreSQL database, migrated and seeded by
  ``manage.py`` subprocesses as a deployment does it, and dropped afterwards. It is not
  pytest-django's test database: that one lives inside the test process's transactions,
  which servers in other processes would never see committed.
- The test process reads the servers' database with psycopg2 directly rather than through
  a second Django ``DATABASES`` alias, which pytest-django would create and flush a test
  copy of, and which would put the servers' rows behind the ORM's test isolation. A plain
  connection is also what a test needs to hold a row lock in a transaction of its own
  while a server blocks on it, and to find and terminate a server's backend.
- :class:`AppServer` is ``gunicorn -c gunicorn.conf.py site_config.wsgi`` (the production
  command) with the config's environment variables overridden, on a port the kernel
  picks, output in a log file, and its worker pids so a test can ``kill -9`` one.
- :class:`Outbox` reads the e-mails the servers wrote with Django's file-based backend
  (``site_config.settings.reliability``), so a test can count them across processes.
"""

from __future__ import annotations

import email
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg2
from psycopg2 import sql

from tests.support import REPO

HOST = "127.0.0.1"
SETTINGS_MODULE = "site_config.settings.reliability"
COMMAND_TIMEOUT = 300  # migrate on a busy 2-core machine has taken 50 s
START_TIMEOUT = 90
STOP_TIMEOUT = 15

# What a developer's shell may have set for the app; a server under test gets only ours.
_APP_VARIABLES = re.compile(
    r"^(DJANGO_SETTINGS_MODULE|DATABASE_URL|CACHE_URL|EMAIL_.*|PAYMENT_GATEWAY|STRIPE_.*|SITE_URL"
    r"|WEB_CONCURRENCY|PORT|GUNICORN_.*|.*_RATE_LIMIT|MEDIA_ROOT|DEBUG|SECRET_KEY)$"
)
_LISTENING = re.compile(rb"Listening at: http://[\d.]+:(\d+) ")
# How Django's file-based e-mail backend separates messages within one file.
_MESSAGE_SEPARATOR = b"\n" + b"-" * 79 + b"\n"

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def process_stop(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM and wait; kill it if it has not exited in ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # a gunicorn master's workers notice their parent is gone and exit
        process.wait(timeout=timeout)


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (a gunicorn master's workers), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        if int(stat.rpartition(")")[2].split()[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def server_environment(**overrides: str) -> dict[str, str]:
    """The test process's environment without the app's own variables, plus ``overrides``.

    Rate limits are off: every request of a test comes from 127.0.0.1.
    """
    env = {name: value for name, value in os.environ.items() if not _APP_VARIABLES.match(name)}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        CHECKOUT_RATE_LIMIT="",
        LOGIN_RATE_LIMIT="",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: Mapping[str, str], log_path: Path) -> str:
    """Run ``manage.py <args>`` as a subprocess; its output, also appended to ``log_path``."""
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(
        command,
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    with log_path.open("a") as log:
        log.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


class ServerDatabase:
    """A PostgreSQL database of its own for servers under test; the test reads it directly."""

    def __init__(self, *, name: str, host: str, port: str | int, user: str, password: str):
        self.name = name
        self._params: dict[str, Any] = {
            "host": host or HOST,
            "port": int(port or 5432),
            "user": user,
            "password": password,
        }
        self._reader: Any = None

    @property
    def url(self) -> str:
        """The ``DATABASE_URL`` the servers use."""
        p = self._params
        credentials = p["user"] + (f":{p['password']}" if p["password"] else "")
        return f"postgres://{credentials}@{p['host']}:{p['port']}/{self.name}"

    def create(self) -> Self:
        with self._maintenance() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def drop(self) -> None:
        """Drop the database, cutting off any server still connected to it."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        with self._maintenance() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    @contextmanager
    def _maintenance(self) -> Iterator[Any]:
        connection = psycopg2.connect(dbname="postgres", **self._params)
        connection.autocommit = True  # CREATE/DROP DATABASE refuse to run in a transaction
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def connect(self) -> Any:
        """A new connection to the servers' database; the caller closes it."""
        return psycopg2.connect(dbname=self.name, **self._params)

    def query(self, statement: str, params: tuple | Mapping = ()) -> list[tuple]:
        """Run one statement in autocommit mode: every read sees what servers committed."""
        if self._reader is None or self._reader.closed:
            self._reader = self.connect()
            self._reader.autocommit = True
        with self._reader.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def scalar(self, statement: str, params: tuple | Mapping = ()) -> Any:
        rows = self.query(statement, params)
        return rows[0][0] if rows else None

    @contextmanager
    def rows_locked(self, select: str, params: tuple | Mapping = ()) -> Iterator[int]:
        """Hold ``SELECT ... FOR UPDATE`` locks until the block ends; yields our backend pid.

        A server wanting the same rows blocks until then, which is how a test stops a
        request at a known point without changing the app.
        """
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
                cursor.execute(select + " FOR UPDATE", params)
                if cursor.rowcount < 1:
                    raise LookupError(f"nothing to lock: {select} {params}")
            yield pid
        finally:
            connection.rollback()
            connection.close()

    def backends_blocked_by(self, pid: int) -> list[tuple[int, str]]:
        """(pid, application_name) of every backend waiting for a lock that ``pid`` holds."""
        return [
            (row[0], row[1])
            for row in self.query(
                "SELECT pid, application_name FROM pg_stat_activity"
                " WHERE %s = ANY(pg_blocking_pids(pid))",
                (pid,),
            )
        ]

    def idle_backends(self, application_names: Iterable[str]) -> list[int]:
        """Pids of the idle backends (connections kept between requests) of these clients."""
        return [
            row[0]
            for row in self.query(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = %s AND state = 'idle' AND application_name = ANY(%s)",
                (self.name, list(application_names)),
            )
        ]

    def backend_exists(self, pid: int) -> bool:
        return bool(self.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)))

    def terminate_backend(self, pid: int) -> None:
        """Cut one backend's connection, as a database failover or an OOM kill would."""
        if not self.scalar("SELECT pg_terminate_backend(%s)", (pid,)):
            raise LookupError(f"no backend {pid} to terminate")


class AppServer:
    """The app under gunicorn with the project's gunicorn.conf.py, on a free 127.0.0.1 port."""

    def __init__(
        self,
        name: str,
        *,
        env: Mapping[str, str],
        log_path: Path,
        workers: int = 2,
        threads: int = 4,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.workers = workers
        self.env = {
            **env,
            # Port 0: the kernel picks a free port, read back from gunicorn's log, so two
            # servers started at once (here or by anyone else) never race for one.
            "GUNICORN_BIND": f"{HOST}:0",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            # A worker recycled mid-test would look like a lost request.
            "GUNICORN_MAX_REQUESTS": "0",
        }
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError(f"server {self.name} is not started")
        return f"http://{HOST}:{self.port}"

    def start(self) -> Self:
        """Start gunicorn and return once every worker is up and /healthz answers 200."""
        return self.launch().wait_ready()

    def launch(self) -> Self:
        """Start gunicorn without waiting for it (several servers boot at once)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    # gunicorn's control socket has one default path per user: leave it be.
                    "--no-control-socket",
                    # Nothing a test needs is in flight when it stops the server.
                    "--graceful-timeout",
                    "2",
                    "site_config.wsgi",
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self) -> Self:
        """Wait for the port, the full count of workers and a 200 from /healthz."""
        self.wait_listening()
        try:
            wait_until(self._healthy, timeout=START_TIMEOUT, what=f"{self.name} /healthz")
        except BaseException:
            self.stop()
            raise
        return self

    def wait_listening(self) -> Self:
        """Wait for the port, the full count of workers and any HTTP answer at all.

        Not necessarily a 200: for a test of how the server answers probes, including ones
        it refuses. A worker accepts only once it has loaded the app, so an answer means one has.
        """
        try:
            self.port = wait_until(
                self._listening_port, timeout=START_TIMEOUT, what=f"{self.name} to listen"
            )
            self.wait_for_workers()
            wait_until(self._answering, timeout=START_TIMEOUT, what=f"{self.name} to answer")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing the master if it does not exit in time."""
        if self.process is not None:
            process_stop(self.process, timeout=STOP_TIMEOUT)

    def request_stop(self) -> None:
        """Send SIGTERM without waiting, so several servers shut down at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"server {self.name} exited ({code}):\n{self.log_tail()}")

    def _listening_port(self) -> int | None:
        self._alive()
        match = _LISTENING.search(self.log_path.read_bytes())
        return int(match.group(1)) if match else None

    def _answering(self) -> bool:
        self._alive()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status > 0
        except (http.client.HTTPException, OSError):
            return False
        finally:
            connection.close()

    def _healthy(self) -> bool:
        self._alive()
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=10) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children: its workers, as the kernel sees them now."""
        return [] if self.process is None else child_pids(self.process.pid)

    def wait_for_workers(self, *, timeout: float = START_TIMEOUT) -> list[int]:
        """Wait until the master has its full count of workers (after a start or a kill)."""

        def full() -> list[int] | None:
            self._alive()
            pids = self.worker_pids()
            return pids if len(pids) == self.workers else None

        return wait_until(full, timeout=timeout, what=f"{self.workers} workers of {self.name}")

    def kill_worker(self, pid: int) -> None:
        """``kill -9`` one of this server's workers (refuses any other process)."""
        if pid not in self.worker_pids():
            raise LookupError(f"{pid} is not a worker of server {self.name}")
        os.kill(pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Outbox:
    """The e-mails Django's file-based backend wrote to ``directory``, from any process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self) -> list[Message]:
        found = []
        for path in sorted(self.directory.glob("*.log")):
            for chunk in path.read_bytes().split(_MESSAGE_SEPARATOR):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk))
        return found

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages()]
