"""The processes under test: gunicorn with the repository's config, and the fake Stripe.

gunicorn runs ``-c gunicorn.conf.py site_config.wsgi`` with the bench settings on a free
127.0.0.1 port, configured through the config file's own environment variables.
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.config import PROJECT_DIR, PYTHON
from bench.load import Request, send
from tests.support.servers import HOST, child_pids, free_port, process_stop


class StripeFake:
    """``bench.stripe_fake`` in its own process; ``url`` is its API base."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> Self:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(PYTHON), "-m", "bench.stripe_fake"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        self.url = (self.process.stdout.readline() if self.process.stdout else "").strip()
        if not self.url.startswith("http://"):
            process_stop(self.process, timeout=30)
            raise RuntimeError(f"the fake Stripe did not start; see {self.log_path}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            process_stop(self.process, timeout=5)


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    rss_kib: int  # resident now
    hwm_kib: int  # the most it has been resident


def _proc_status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


class Gunicorn:
    def __init__(self, env: dict[str, str], *, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **env,
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            # Recycling a worker every 2,000 requests would put Django's start-up (seconds of
            # CPU) inside the measurements; the bench measures the steady state.
            "GUNICORN_MAX_REQUESTS": "0",
        }
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(PYTHON),
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                # gunicorn's control socket has one default path per user: leave it to others.
                "--no-control-socket",
                "site_config.wsgi",
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None:
            process_stop(self.process, timeout=30)

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                healthy = send(HOST, self.port, Request("GET", "/healthz"), timeout=5).status
                if healthy == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        return [] if self.process is None else child_pids(self.process.pid)

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far, together."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def worker_memory(self) -> list[WorkerMemory]:
        memory = []
        for pid in self.worker_pids():
            status = _proc_status(pid)
            memory.append(
                WorkerMemory(
                    pid=pid,
                    rss_kib=int(status["VmRSS"].split()[0]),
                    hwm_kib=int(status["VmHWM"].split()[0]),
                )
            )
        return memory
