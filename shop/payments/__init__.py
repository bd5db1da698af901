"""The gateway boundary. ``get_gateway()`` returns the configured gateway.

``PAYMENT_GATEWAY`` is ``stripe`` (stripe-python, ``shop.payments.stripe``) or ``local``
(an embedded test gateway with its own payment page, ``shop.payments.local``).
"""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shop.payments.base import PaymentGateway

GATEWAYS = ("stripe", "local")
# Where providers deliver webhooks: the path is the one configured in Stripe's Dashboard.
WEBHOOK_ROUTE = "stripe/webhook/"
WEBHOOK_URL_NAME = "stripe_webhook"


@dataclass(frozen=True)
class RequiredSetting:
    """A setting a gateway needs: what to tell an operator who has not set it."""

    name: str
    message: str  # which gateway needs which setting
    # Without it no payment can be taken; without the others, payments are never confirmed.
    blocks_payments: bool
    consequence: str = ""
    hint: str = ""


# "Stripe keys are required": the one place that says which, and what happens without them.
REQUIRED_SETTINGS = {
    "stripe": (
        RequiredSetting(
            "STRIPE_SECRET_KEY",
            "PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.",
            blocks_payments=True,
        ),
        RequiredSetting(
            "STRIPE_WEBHOOK_SECRET",
            "PAYMENT_GATEWAY=stripe needs STRIPE_WEBHOOK_SECRET.",
            blocks_payments=False,
            consequence="STRIPE_WEBHOOK_SECRET is not set: every webhook will be refused.",
            hint="Run `stripe listen` and copy its whsec_... secret.",
        ),
    ),
}


def missing_settings(read: Callable[[str], Any]) -> list[RequiredSetting]:
    """What the configured gateway needs and is missing, most serious first.

    ``read(name)`` gives a setting's value: ``getattr`` on Django's settings, or the
    settings module's own globals while it is still being loaded.
    """
    required = REQUIRED_SETTINGS.get(read("PAYMENT_GATEWAY"), ())
    return [setting for setting in required if not read(setting.name)]


def require(name: str, value: Any, *, gateway: str = "stripe") -> None:
    """Refuse to go on without ``name``, in the words :data:`REQUIRED_SETTINGS` has for it."""
    if not value:
        (setting,) = [s for s in REQUIRED_SETTINGS[gateway] if s.name == name]
        raise ImproperlyConfigured(setting.message)


def gateway_class() -> type[PaymentGateway]:
    """The configured gateway's class: what it is called, its ids and pages, unbuilt."""
    name = settings.PAYMENT_GATEWAY
    if name == "local":
        from shop.payments.local import LocalGateway

        return LocalGateway
    if name == "stripe":
        from shop.payments.stripe import StripeGateway

        return StripeGateway
    raise ImproperlyConfigured(f"PAYMENT_GATEWAY must be one of {GATEWAYS}, not {name!r}.")


def checkout_origin() -> str | None:
    """The origin of the configured gateway's hosted payment page; None if it is ours.

    Asked on every response (the Content-Security-Policy), so a misconfigured gateway,
    which ``manage.py check`` reports, is not a reason to fail here.
    """
    if settings.PAYMENT_GATEWAY not in GATEWAYS:
        return None
    return gateway_class().checkout_origin


def get_gateway() -> PaymentGateway:
    cls = gateway_class()
    if settings.PAYMENT_GATEWAY == "local":
        return cls()
    require("STRIPE_SECRET_KEY", settings.STRIPE_SECRET_KEY)
    return cls(
        secret_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        api_base=settings.STRIPE_API_BASE or None,
        timeout=settings.STRIPE_TIMEOUT_SECONDS,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def payment_url(payment_id: str | None, session_id: str | None) -> str | None:
    """Where an operator sees this payment at its provider; None when nowhere."""
    from shop.payments.stripe import dashboard_payment_url

    return dashboard_payment_url(payment_id, session_id)


def dispute_url(dispute_id: str | None, session_id: str | None) -> str | None:
    """Where an operator answers this dispute at its provider; None when nowhere."""
    from shop.payments.stripe import dashboard_dispute_url

    return dashboard_dispute_url(dispute_id, session_id)


def webhook_secret() -> str:
    """The secret webhooks are signed with.

    ``STRIPE_WEBHOOK_SECRET`` when set; otherwise (local gateway, development) one derived
    from ``SECRET_KEY``, so the local gateway signs its events exactly as Stripe would.
    """
    if settings.STRIPE_WEBHOOK_SECRET:
        return settings.STRIPE_WEBHOOK_SECRET
    if settings.PAYMENT_GATEWAY == "stripe":
        require("STRIPE_WEBHOOK_SECRET", "")
    digest = hmac.new(settings.SECRET_KEY.encode(), b"local-webhook-secret", hashlib.sha256)
    return "whsec_local_" + digest.hexdigest()
