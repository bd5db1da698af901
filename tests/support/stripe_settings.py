"""The fake Stripe server running, with the shop's settings pointing at it."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from tests.support.stripe_fake import FakeStripe

WEBHOOK_SECRET = "whsec_test"


@contextmanager
def stripe_faked(**overrides) -> Iterator[FakeStripe]:
    """PAYMENT_GATEWAY=stripe against a fresh FakeStripe; ``overrides`` change settings."""
    with FakeStripe() as fake:
        settings = {
            "PAYMENT_GATEWAY": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_123",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": fake.url,
            # Fail fast: the fault tests measure our handling, not the SDK's patience.
            "STRIPE_MAX_NETWORK_RETRIES": 0,
            "STRIPE_TIMEOUT_SECONDS": 1,
            **overrides,
        }
        with override_settings(**settings):
            yield fake
