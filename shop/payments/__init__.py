"""The gateway boundary. ``get_gateway()`` returns the configured gateway.

``PAYMENT_GATEWAY`` is ``stripe`` (stripe-python, ``shop.payments.stripe``) or ``local``
(an embedded test gateway with its own payment page, ``shop.payments.local``).
"""

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shop.payments.base import PaymentGateway

GATEWAYS = ("stripe", "local")


def get_gateway() -> PaymentGateway:
    name = settings.PAYMENT_GATEWAY
    if name == "local":
        from shop.payments.local import LocalGateway

        return LocalGateway()
    if name == "stripe":
        from shop.payments.stripe import StripeGateway

        if not settings.STRIPE_SECRET_KEY:
            raise ImproperlyConfigured("PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.")
        return StripeGateway(
            secret_key=settings.STRIPE_SECRET_KEY,
            api_base=settings.STRIPE_API_BASE or None,
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )
    raise ImproperlyConfigured(f"PAYMENT_GATEWAY must be one of {GATEWAYS}, not {name!r}.")


def webhook_secret() -> str:
    """The secret webhooks are signed with.

    ``STRIPE_WEBHOOK_SECRET`` when set; otherwise (local gateway, development) one derived
    from ``SECRET_KEY``, so the local gateway signs its events exactly as Stripe would.
    """
    if settings.STRIPE_WEBHOOK_SECRET:
        return settings.STRIPE_WEBHOOK_SECRET
    if settings.PAYMENT_GATEWAY == "stripe":
        raise ImproperlyConfigured("PAYMENT_GATEWAY=stripe needs STRIPE_WEBHOOK_SECRET.")
    digest = hmac.new(settings.SECRET_KEY.encode(), b"local-webhook-secret", hashlib.sha256)
    return "whsec_local_" + digest.hexdigest()
