"""Which Buy claimed a guest cookie: a signed cookie's token is used by one Buy only."""

from django.db import models
from django.utils import timezone


class GuestClaim(models.Model):
    """A guest cookie's token, claimed by the first Buy that came with it (``shop.shoppers``).

    The shop page gives every browser a signed guest cookie instead of a session, so a first
    visit writes nothing. The cookie can be planted like a session key, so its token becomes
    a guest's orders' token only through this row: the Buy that inserts it gets a fresh
    ``guest_token`` (never the cookie's own, readable value), the same Buy's duplicates
    (``checkout_token``) find it here, and any other Buy with that cookie starts afresh.

    A claim outlives its use when the cookie no longer verifies (``GUEST_COOKIE_MAX_AGE``
    after it was set, which is before the claim was made): ``reconcile_payments`` removes
    those on every run. No admin view: nothing here is for editors.
    """

    cookie_token = models.CharField(max_length=64, unique=True)
    checkout_token = models.UUIDField()
    guest_token = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "guest cookie claim"

    def __str__(self) -> str:
        return f"guest cookie claimed {self.created_at:%Y-%m-%d %H:%M}"
