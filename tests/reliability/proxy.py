"""The shipped nginx config (deploy/nginx.conf), run by Debian's nginx in front of a test server.

Only what names the container's world is substituted — the port nginx listens on, the
upstream's address, the static and media folders — and each substitution must match the
shipped file exactly once, so the directives under test are the ones that ship. The file is
included in a minimal main config as the official image's own nginx.conf includes it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.support import REPO
from tests.support.servers import HOST, free_port, process_stop, wait_until

SHIPPED_CONFIG = REPO / "deploy" / "nginx.conf"
START_TIMEOUT = 30
INSTALL_HINT = "nginx is not installed (apt-get install -y nginx; .ci/run installs it)"


def nginx_binary() -> str:
    """Debian's nginx (``PROXY_NGINX`` names another): skip without it locally, fail without
    it in CI, as the browser tests do without Chromium."""
    named = os.environ.get("PROXY_NGINX")
    found = (
        shutil.which(named)
        if named
        else shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    )
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {INSTALL_HINT}", pytrace=False)
    pytest.skip(INSTALL_HINT)


def _substitute(text: str, old: str, new: str) -> str:
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"deploy/nginx.conf has {old!r} {count} times, expected once")
    return text.replace(old, new)


class NginxProxy:
    """nginx with deploy/nginx.conf, listening on a free 127.0.0.1 port."""

    def __init__(self, *, upstream: str, static_root: Path, media_root: Path, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        site = SHIPPED_CONFIG.read_text()
        site = _substitute(site, "listen 80;", f"listen {HOST}:{self.port};")
        site = _substitute(site, "server web:8000;", f"server {upstream};")
        site = _substitute(site, "alias /srv/static/;", f"alias {static_root}/;")
        site = _substitute(site, "alias /srv/media/;", f"alias {media_root}/;")
        (root / "site.conf").write_text(site)
        temp = root / "temp"
        temp.mkdir()
        # What the official image's nginx.conf sets around conf.d/*.conf, with our paths.
        # `user root`: pytest's folders are private to root, and nginx runs as root here.
        (root / "nginx.conf").write_text(
            f"""
user root;
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {root}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {root}/site.conf;
}}
"""
        )
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Self:
        binary = nginx_binary()
        command = [binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf")]
        test = subprocess.run(
            [*command, "-e", str(self.root / "error.log"), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert test.returncode == 0, f"nginx -t refused the config:\n{test.stderr}"
        self.process = subprocess.Popen(
            [*command, "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._listening, timeout=START_TIMEOUT, what="nginx to listen")
        return self

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{self.error_log()}")
        try:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            process_stop(self.process, timeout=10)  # SIGTERM: nginx's fast shutdown

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def trickle_request_header(url_port: int, *, seconds: float, every: float) -> None:
    """A slow client: one byte of a request header every ``every`` seconds, for ``seconds``."""
    header = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + b"s" * 200
    deadline = time.monotonic() + seconds
    with socket.create_connection((HOST, url_port), timeout=every + 5) as sock:
        for byte in header:
            if time.monotonic() >= deadline:
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the server gave up on us, as a proxy should
            time.sleep(every)
