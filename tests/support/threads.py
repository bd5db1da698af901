"""Running work in real threads released at the same moment, for concurrency tests."""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")


def together(count: int, work: Callable[[int], T], *, timeout: float = 60) -> list[T]:
    """Run ``work(0..count-1)`` in threads released by one barrier; return their results.

    Each thread has its own database connection (Django's are per thread) and closes it;
    an exception in any thread fails the caller, and so does a thread that hangs.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported in the caller's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors[:3]
    return results
