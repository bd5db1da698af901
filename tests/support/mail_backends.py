"""E-mail backends for tests: a mail server that is down, or down for a while."""

import smtplib
import threading

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend


class FlakyBackend(BaseEmailBackend):
    """Refuses the next ``failures`` sends, then delivers to ``mail.outbox`` like locmem.

    Attempts are counted across threads and connections; :meth:`reset` before each test.
    """

    failures = 0
    attempts = 0
    _lock = threading.Lock()

    @classmethod
    def reset(cls, *, failures: int) -> None:
        with cls._lock:
            cls.failures, cls.attempts = failures, 0

    def send_messages(self, email_messages):
        with self._lock:
            type(self).attempts += 1
            if type(self).failures > 0:
                type(self).failures -= 1
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        for message in email_messages:
            message.message()  # renders the message, as a real backend would
            mail.outbox.append(message)
        return len(email_messages)


class WorkerKilled(BaseException):
    """What ``kill -9`` does to a worker mid-send: nothing after this point runs.

    A BaseException, so no ``except Exception`` in the code under test can tidy up after it.
    """


class KilledMidSendBackend(BaseEmailBackend):
    """The worker dies while the mail server has the message half-sent: nothing delivered."""

    def send_messages(self, email_messages):
        raise WorkerKilled
