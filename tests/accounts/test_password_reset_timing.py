"""A password reset answers as fast for an unknown address as for a registered one.

The shop runs as a real server (pytest-django's live server) and sends through a slow
mail server on 127.0.0.1: if the e-mail were sent before the answer, a registered
address would take the mail server's delay longer, and tell an attacker it has an account.
"""

import re
import time

import pytest
import requests
from django.contrib.auth import get_user_model

from tests.support.servers import wait_until
from tests.support.smtp_fake import SMTPServer

# Timing against a slow mail server, the same on either database.
pytestmark = pytest.mark.slow

MAIL_SERVER_DELAY = 2.0


@pytest.fixture
def slow_mail_server(settings):
    with SMTPServer(delay=MAIL_SERVER_DELAY) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server


def _timed_reset(live_server, email: str) -> float:
    with requests.Session() as browser:
        form = browser.get(f"{live_server.url}/accounts/password/reset/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        started = time.monotonic()
        response = browser.post(
            f"{live_server.url}/accounts/password/reset/",
            data={"csrfmiddlewaretoken": token, "email": email},
            allow_redirects=False,
            timeout=30,
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 302, response.text[:300]
    return elapsed


# A live server: committed rows; serialized_rollback keeps the migrated data for later tests.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reset_answers_as_fast_for_a_registered_address_as_for_an_unknown_one(
    live_server, slow_mail_server, seeded_shop
):
    get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-1234567")

    registered = _timed_reset(live_server, "ann@example.com")
    unknown = _timed_reset(live_server, "nobody@example.com")

    # Neither answer waited for the mail server, so neither says who has an account.
    assert registered < MAIL_SERVER_DELAY / 2, registered
    assert unknown < MAIL_SERVER_DELAY / 2, unknown
    # The registered address's link still arrives, after the answer; the unknown gets none.
    (message,) = wait_until(
        slow_mail_server.received, timeout=MAIL_SERVER_DELAY * 5, what="the reset e-mail"
    )
    assert message["To"] == "ann@example.com"
    assert "/accounts/password/reset/" in message.get_payload(decode=True).decode()
    time.sleep(MAIL_SERVER_DELAY + 0.5)
    assert len(slow_mail_server.received()) == 1
