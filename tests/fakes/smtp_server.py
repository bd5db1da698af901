"""A mail server on 127.0.0.1 that speaks just enough SMTP for Django's backend, slowly.

It waits ``delay`` seconds before greeting each connection, as a distant or overloaded
mail server does, and keeps what it receives so a test can see a message did arrive.
"""

from __future__ import annotations

import socketserver
import threading
import time
from types import TracebackType
from typing import Self


class SlowSMTPServer:
    def __init__(self, *, delay: float) -> None:
        self.delay = delay
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                time.sleep(owner.delay)
                self._reply("220 slow.test ESMTP")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self._reply("250 slow.test")
                    elif verb == b"DATA":
                        self._reply("354 End data with <CR><LF>.<CR><LF>")
                        owner._received(self._read_data())
                        self._reply("250 OK: queued")
                    elif verb == b"QUIT":
                        self._reply("221 Bye")
                        return
                    else:  # MAIL, RCPT, RSET, NOOP
                        self._reply("250 OK")

            def _read_data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line)
                return b"".join(lines)

            def _reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def _received(self, message: bytes) -> None:
        with self._lock:
            self.messages.append(message)

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
