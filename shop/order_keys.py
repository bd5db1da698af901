"""The key in an order's signed link: it opens that one order read-only, on any device.

The key is a ``django.core.signing`` signature of the order's reference (salted for this
use, timestamped), so it opens no other order and nothing else, for
``ORDER_LINK_MAX_AGE_DAYS``. The link itself is built in ``shop.order_links``.
"""

import datetime as dt

from django.conf import settings
from django.core import signing

LINK_SALT = "shop.order-link"
KEY_PARAMETER = "key"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def order_link_key(reference: str) -> str:
    """The key that opens the order ``reference`` alone: ``sign(reference)`` without it."""
    signer = _signer()
    return signer.sign(reference).split(signer.sep, 1)[1]


def order_link_opens(reference: str, key: str) -> bool:
    """Whether ``key`` was made for the order ``reference`` and has not expired."""
    signer, max_age = _signer(), dt.timedelta(days=settings.ORDER_LINK_MAX_AGE_DAYS)
    try:
        signed = signer.unsign(f"{reference}{signer.sep}{key}", max_age=max_age)
    except signing.BadSignature:
        return False
    return signed == reference
