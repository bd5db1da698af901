"""Runs the test suite's FakeStripe in a process of its own for the checkout scenario.

``python -m bench.stripe_fake`` prints the fake's base URL on its first line and serves
until stopped. A process of its own keeps the fake's work out of the gunicorn workers and
out of the load generator; it answers at once (no added latency).
"""

import signal
import threading

from tests.support.stripe_fake import FakeStripe


def main() -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with FakeStripe() as fake:
        print(fake.url, flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
