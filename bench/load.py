"""The load: wrk (C, epoll) replaying prepared requests, plus a tiny client for single requests.

wrk keeps the load generator's own CPU small on a 2-core machine, so the server is what is
measured; bench/wrk/replay.lua gives it requests that differ per request (fresh checkout
tokens, distinct webhook events) and collects the X-Bench-Queries header of every response.
"""

import http.client
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import BENCH_DIR

REPLAY_SCRIPT = BENCH_DIR / "wrk" / "replay.lua"
RESULT_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def raw(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def queries(self) -> int | None:
        value = self.headers.get("X-Bench-Queries")
        return int(value) if value is not None else None


def send(host: str, port: int, request: Request, *, timeout: float = 30.0) -> Response:
    """One request on its own connection (warm-up, checks, fetching a CSRF token)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    unexpected: int  # wrong status or body
    socket_errors: int
    timeouts: int
    statuses: dict[str, int]
    queries_mean: float | None
    queries_min: int | None
    queries_max: int | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.unexpected + self.socket_errors + self.timeouts


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_run(
    *,
    host: str,
    port: int,
    requests: list[Request],
    limit: int,
    duration: float,
    connections: int,
    expect_status: int,
    expect_body: str,
    data_path: Path,
) -> LoadResult:
    """Replay ``requests`` (cycling) until ``limit`` responses or ``duration`` seconds."""
    host_header = f"{host}:{port}"
    with data_path.open("wb") as data:
        for request in requests:
            raw = request.raw(host_header)
            data.write(f"{len(raw)}\n".encode() + raw)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "-s",
        str(REPLAY_SCRIPT),
        f"http://{host_header}",
        "--",
        str(data_path),
        str(limit),
        str(expect_status),
        expect_body,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    raw = json.loads(lines[-1][len(RESULT_MARKER) :])
    counted = raw["queries_counted"]
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p90_ms=raw["p90_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        max_ms=raw["max_us"] / 1e3,
        unexpected=raw["unexpected"],
        socket_errors=raw["socket_errors"],
        timeouts=raw["timeouts"],
        statuses=raw["statuses"],
        queries_mean=raw["queries_sum"] / counted if counted else None,
        queries_min=raw["queries_min"] if counted else None,
        queries_max=raw["queries_max"] if counted else None,
    )
