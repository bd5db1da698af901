"""Stripe-compatible webhook signatures, for the events the local gateway sends.

Verification always goes through stripe-python (``shop.payments.stripe``);
this module only produces the ``Stripe-Signature`` header the way Stripe does:
``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
"""

import hashlib
import hmac
import time


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
