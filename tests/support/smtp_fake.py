"""A real SMTP server on 127.0.0.1 for tests, which can hang like a stalled mail server.

The first ``hang_first`` connections are accepted and never answered (the way a mail
server that is up but stuck behaves: the client waits for its greeting until its timeout).
Later connections get just enough SMTP for ``smtplib`` to deliver, and each message's raw
bytes are kept in :attr:`messages`. ``delay`` makes every answered connection wait that many
seconds before its greeting, as a distant or overloaded mail server does.
"""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes
from email.message import Message
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"


class SMTPServer:
    def __init__(self, *, hang_first: int = 0, delay: float = 0) -> None:
        self.hang_first = hang_first
        self.delay = delay
        self.connections = 0
        self.messages: list[Message] = []
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._listener.close()
        for held in self._held:
            held.close()
        self._thread.join(timeout=5)

    def wait_for_messages(self, count: int, *, timeout: float) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self._lock:
            return list(self.messages)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                hang = self.connections <= self.hang_first
            if hang:
                self._held.append(conn)  # never answered, closed when the server stops
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def received(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def _serve(self, conn: socket.socket) -> None:
        time.sleep(self.delay)
        with conn, conn.makefile("rb") as lines:

            def reply(text: str) -> None:
                conn.sendall(text.encode() + b"\r\n")

            reply("220 test SMTP server ready")
            for raw in lines:
                verb = raw.split(b" ", 1)[0].strip().upper()
                if verb in (b"EHLO", b"HELO"):
                    reply("250 test")
                elif verb == b"DATA":
                    reply("354 end with <CRLF>.<CRLF>")
                    body = bytearray()
                    for data_line in lines:
                        if data_line in (b".\r\n", b".\n"):
                            break
                        body += data_line[1:] if data_line.startswith(b"..") else data_line
                    with self._lock:
                        self.messages.append(message_from_bytes(bytes(body)))
                    reply("250 queued")
                elif verb == b"QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("250 ok")
