"""Shoppers' accounts: sign up, log in and out, passwords, safe redirects, throttling."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from site_config.ratelimit import wait_wording
from tests.accounts.hashers import CountingMD5Hasher
from tests.support.threads import together

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def _signup(client, email="ann@example.com", password=PASSWORD, **extra):
    data = {"email": email, "password1": password, "password2": password, **extra}
    return client.post("/accounts/signup/", data)


def test_sign_up_creates_an_account_and_logs_in(client, seeded_shop):
    response = _signup(client, email="Ann@Example.com")

    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get()
    assert user.email == "ann@example.com" and user.username == "ann@example.com"
    page = client.get("/").content.decode()
    assert "Signed in as" in page and "ann@example.com" in page


def test_email_is_unique_case_insensitively(client, seeded_shop):
    _signup(client)
    client.logout()

    response = _signup(client, email="ANN@example.COM")

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901"])
def test_weak_passwords_are_refused_by_djangos_validators(client, seeded_shop, password):
    response = _signup(client, password=password)

    assert response.status_code == 400
    assert get_user_model().objects.count() == 0


def test_log_in_log_out(client, seeded_shop):
    _signup(client)
    client.post("/accounts/logout/")
    assert "Signed in as" not in client.get("/").content.decode()

    response = client.post(
        "/accounts/login/", {"username": "ANN@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert "Signed in as" in client.get("/").content.decode()


def test_log_out_is_post_only(client, seeded_shop):
    _signup(client)

    assert client.get("/accounts/logout/").status_code == 405
    assert "Signed in as" in client.get("/").content.decode()


@pytest.mark.parametrize("next_url", ["/search/?query=mug", "/orders/"])
def test_log_in_returns_to_where_the_shopper_was(client, seeded_shop, next_url):
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", PASSWORD)

    response = client.post(
        "/accounts/login/",
        {"username": "bo@example.com", "password": PASSWORD, "next": next_url},
    )

    assert response["Location"] == next_url


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "https://testserver.evil.example/",
    ],
)
def test_open_redirects_are_refused_on_log_in_and_sign_up(client, seeded_shop, evil):
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", PASSWORD)
    response = client.post(
        "/accounts/login/", {"username": "bo@example.com", "password": PASSWORD, "next": evil}
    )
    assert response["Location"] == "/"
    client.post("/accounts/logout/")

    response = _signup(client, email="new@example.com", next=evil)
    assert response["Location"] == "/"


def test_password_change(client, seeded_shop):
    _signup(client)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-secret-42",
            "new_password2": "another-long-secret-42",
        },
    )
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert client.login(username="ann@example.com", password="another-long-secret-42")


def test_password_reset_by_email(client, seeded_shop):
    _signup(client)
    client.post("/accounts/logout/")

    client.post("/accounts/password/reset/", {"email": "ann@example.com"})

    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form_url = client.get(link.group(1)).url  # Django swaps the token into the session
    response = client.post(
        form_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}
    )
    assert response.status_code == 302
    assert client.login(username="ann@example.com", password="brand-new-pass-77")


@override_settings(SITE_URL="https://shop.example")
def test_password_reset_link_uses_the_site_url_when_one_is_configured(client, seeded_shop):
    get_user_model().objects.create_user("ann@example.com", "ann@example.com", PASSWORD)

    client.post("/accounts/password/reset/", {"email": "ann@example.com"})

    (message,) = mail.outbox
    assert re.search(r"^https://shop\.example/accounts/password/reset/\S+/$", message.body, re.M)


def test_password_reset_link_does_not_echo_a_host_port_the_request_did_not_arrive_on(
    client, seeded_shop
):
    get_user_model().objects.create_user("ann@example.com", "ann@example.com", PASSWORD)

    client.post(
        "/accounts/password/reset/", {"email": "ann@example.com"}, HTTP_HOST="127.0.0.1:6666"
    )

    (message,) = mail.outbox
    assert ":6666" not in message.body
    assert re.search(r"^http://127\.0\.0\.1/accounts/password/reset/\S+/$", message.body, re.M)


def test_password_reset_for_unknown_email_reveals_nothing(client, seeded_shop):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302 and len(mail.outbox) == 0


def test_failed_log_ins_are_throttled_per_account_with_a_clear_message(client, seeded_shop):
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", PASSWORD)
    for _ in range(5):
        client.post("/accounts/login/", {"username": "bo@example.com", "password": "wrong"})

    response = client.post("/accounts/login/", {"username": "bo@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_throttle_is_per_client_address_too(client, seeded_shop):
    for attempt in range(20):
        client.post(
            "/accounts/login/", {"username": f"guess{attempt}@example.com", "password": "x"}
        )
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", PASSWORD)

    response = client.post("/accounts/login/", {"username": "bo@example.com", "password": PASSWORD})

    assert "Too many failed log-in attempts" in response.content.decode()
    # Another address is not affected.
    other = client.__class__(REMOTE_ADDR="10.1.2.3")
    assert (
        other.post(
            "/accounts/login/", {"username": "bo@example.com", "password": PASSWORD}
        ).status_code
        == 302
    )


def test_throttle_expires_so_the_owner_is_not_locked_out_forever(client, seeded_shop):
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", PASSWORD)
    for _ in range(5):
        client.post("/accounts/login/", {"username": "bo@example.com", "password": "wrong"})

    cache.clear()  # what the 15-minute window's end does

    response = client.post("/accounts/login/", {"username": "bo@example.com", "password": PASSWORD})
    assert response.status_code == 302


def test_the_admin_log_in_is_throttled_too(client, seeded_shop):
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    for _ in range(5):
        client.post("/admin/login/", {"username": "boss", "password": "wrong"})

    client.post("/admin/login/", {"username": "boss", "password": PASSWORD})

    assert "_auth_user_id" not in client.session


def test_a_failed_log_in_names_the_email_field_it_asked_for(client, seeded_shop):
    response = client.post("/accounts/login/", {"username": "bo@example.com", "password": "x"})

    text = re.sub(r"<[^>]+>", " ", response.content.decode())  # what the shopper reads
    assert "That e-mail address and password don&#x27;t match an account" in text
    assert "username" not in text.lower()


def test_sign_up_states_each_password_rule_once(client, seeded_shop):
    response = _signup(client, password="short1")

    page = response.content.decode()
    assert response.status_code == 400
    assert "This password is too short." in page
    assert page.count("at least 8 characters") == 1
    # The rules and the broken ones are both tied to the field.
    assert 'aria-describedby="id_password1_helptext id_password1_error"' in page
    assert 'id="id_password1_helptext"' in page and 'id="id_password1_error"' in page


def _reset(client, email, **extra):
    return client.post("/accounts/password/reset/", {"email": email}, **extra)


# A day's window: django-ratelimit's windows are aligned to the clock, so with a short one
# the time left (and so the page's wording) would depend on when the test runs.
@override_settings(PASSWORD_RESET_RATE_LIMIT="3/86400")
def test_password_reset_is_limited_per_client_address(client, seeded_shop):
    for name in ("ann", "bo", "cy"):
        get_user_model().objects.create_user(f"{name}@example.com", f"{name}@example.com", "x")
        assert _reset(client, f"{name}@example.com").status_code == 302

    limited = _reset(client, "ann@example.com")

    page = limited.content.decode()
    assert limited.status_code == 429 and "Too many requests" in page
    # A reset charges nothing anyway. django-ratelimit offsets each key's window, so the
    # wait left is anything up to a day: the page words whatever Retry-After says.
    assert "Nothing was charged" not in page
    assert f"about {wait_wording(int(limited['Retry-After']))}." in page
    assert len(mail.outbox) == 3
    assert _reset(client, "ann@example.com", REMOTE_ADDR="10.4.4.4").status_code == 302
    assert len(mail.outbox) == 4


@override_settings(PASSWORD_RESET_EMAIL_RATE_LIMIT="2/600")
def test_password_reset_is_limited_per_target_email_from_any_address(client, seeded_shop):
    get_user_model().objects.create_user("ann@example.com", "ann@example.com", "x")
    statuses = [
        _reset(client, email, REMOTE_ADDR=f"10.0.0.{i}").status_code
        for i, email in enumerate(["ann@example.com", " ANN@example.com", "ann@example.com"])
    ]

    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2
    get_user_model().objects.create_user("bo@example.com", "bo@example.com", "x")
    assert _reset(client, "bo@example.com").status_code == 302


@override_settings(SIGNUP_RATE_LIMIT="2/600")
def test_sign_up_is_limited_per_client_address(client, seeded_shop):
    for email in ("a1@example.com", "a2@example.com"):
        _signup(client, email=email)
        client.post("/accounts/logout/")

    limited = _signup(client, email="a3@example.com")

    assert limited.status_code == 429
    assert get_user_model().objects.count() == 2


@override_settings(SIGNUP_EMAIL_RATE_LIMIT="2/600")
def test_sign_up_is_limited_per_email_from_any_address(client, seeded_shop):
    statuses = [
        _signup(client, email="ann@example.com", password="short", REMOTE_ADDR=f"10.0.1.{i}")
        for i in range(3)
    ]

    assert [response.status_code for response in statuses] == [400, 400, 429]
    assert _signup(client, email="bo@example.com").status_code == 302


# Threads need committed rows; serialized_rollback keeps the migrated data for later tests.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(PASSWORD_HASHERS=["tests.accounts.hashers.CountingMD5Hasher"])
def test_ten_admin_passwords_sent_at_once_get_no_more_checks_than_the_account_limit():
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    CountingMD5Hasher.checks = 0

    together(
        10,
        lambda i: Client(REMOTE_ADDR=f"10.7.0.{i}").post(
            "/admin/login/", {"username": "boss", "password": f"guess-{i}"}
        ),
    )

    assert CountingMD5Hasher.checks == 5
    assert not Client().login(username="boss", password=PASSWORD)
