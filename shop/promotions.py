"""Which promotion code a shopper may use, what it takes off, and how often it was used.

The one owner of "is this code accepted": live, active, within its dates, its minimum
reached and a redemption left. A redemption is *held* by a pending order whose payment
session can still be paid (like held stock, ``shop.stock``) and *counted* once the order
is paid; a hold lapses on its own when the order ends or its session can no longer be paid.
Percentages are taken off the subtotal, amounts off the subtotal up to all of it; shipping
is never discounted, and free shipping thresholds look at the subtotal after the discount.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from shop.models.orders import Order
from shop.models.promotions import CODE_MAX_LENGTH, CODE_PATTERN, PromotionCode, code_normalise
from shop.money import format_money

# The shop page's and checkout's form field (and JSON key).
PROMOTION_FIELD = "promotion_code"


class PromotionRefused(Exception):
    """The code cannot be used on this cart; ``message`` says why, safe to show."""

    class Reason(enum.Enum):
        UNKNOWN = "unknown"
        INACTIVE = "inactive"
        NOT_YET_VALID = "not yet valid"
        EXPIRED = "expired"
        EXHAUSTED = "exhausted"
        BELOW_MINIMUM = "below minimum"

    def __init__(self, reason: PromotionRefused.Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Redemptions:
    held: int = 0
    redeemed: int = 0


def holding(now: dt.datetime) -> Q:
    """Orders holding a redemption of their code at ``now``."""
    return Q(status=Order.Status.PENDING, promotion_held_until__gt=now)


def redemptions_of(ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[int, Redemptions]:
    """Held and redeemed counts per code, in one query."""
    now = now or timezone.now()
    ids = list(ids)
    rows = (
        Order.objects.filter(promotion_id__in=ids)
        .order_by()
        .values("promotion_id")
        .annotate(
            held=Count("pk", filter=holding(now)),
            redeemed=Count("pk", filter=Q(status__in=Order.PAID_STATUSES)),
        )
    )
    found = {row["promotion_id"]: Redemptions(row["held"], row["redeemed"]) for row in rows}
    return {pk: found.get(pk, Redemptions()) for pk in ids}


def codes_with_redemptions(*, now: dt.datetime | None = None):
    """Every code with ``redeemed`` and ``held`` counted, for the admin's list."""
    now = now or timezone.now()
    return PromotionCode.objects.annotate(
        redeemed=Count("orders", filter=Q(orders__status__in=Order.PAID_STATUSES)),
        held=Count(
            "orders",
            filter=Q(orders__status=Order.Status.PENDING, orders__promotion_held_until__gt=now),
        ),
    )


def discount_for(*, percent_off: int | None, amount_off: int | None, subtotal: int) -> int:
    """What a code takes off ``subtotal``: a percentage rounded half up, or an amount
    (never more than the subtotal)."""
    if percent_off is not None:
        return min(subtotal, (subtotal * percent_off * 2 + 100) // 200)
    return min(subtotal, amount_off or 0)


def discount_accepts(snapshot: dict, *, subtotal: int, reported: int) -> bool:
    """Whether the provider's discount is what the order's code takes off. A percentage may
    be rounded either way by the provider; an amount must be exact."""
    if not snapshot:
        return reported == 0
    if snapshot.get("percent_off") is not None:
        exact = subtotal * snapshot["percent_off"]
        return reported in {exact // 100, -(-exact // 100)}
    return reported == min(subtotal, snapshot.get("amount_off") or 0)


def shares_split(amounts: list[int], discount: int) -> list[int]:
    """``discount`` split over lines in proportion to ``amounts`` (largest remainder, ties
    to the earlier line), so the shares add up to exactly ``discount``."""
    total = sum(amounts)
    if not total or not discount:
        return [0] * len(amounts)
    quotients = [divmod(amount * discount, total) for amount in amounts]
    shares = [q for q, _ in quotients]
    left = discount - sum(shares)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-quotients[i][1], i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares


def promotion_check(
    code: str, *, subtotal: int, currency: str, now: dt.datetime | None = None, lock=False
) -> PromotionCode:
    """The live code ``code`` names if this cart may use it, else PromotionRefused.

    ``lock`` (inside a transaction) locks the code's row first, so that checkouts racing
    for its last redemptions take turns.
    """
    now = now or timezone.now()
    normalised = code_normalise(code)
    # A code editors could not have saved is unknown without asking the database (which
    # refuses some characters, NUL on PostgreSQL, with an error rather than no match).
    if len(normalised) > CODE_MAX_LENGTH or not re.fullmatch(CODE_PATTERN, normalised):
        raise PromotionRefused(
            PromotionRefused.Reason.UNKNOWN, f"We don't know the promotion code {code[:40]!r}."
        )
    found = PromotionCode.objects.filter(code=normalised, live=True)
    if lock:
        found = found.select_for_update()
    promotion = found.first()
    named = f"The promotion code {normalised}"
    if promotion is None:
        raise PromotionRefused(
            PromotionRefused.Reason.UNKNOWN, f"We don't know the promotion code {normalised}."
        )
    if not promotion.active:
        raise PromotionRefused(PromotionRefused.Reason.INACTIVE, f"{named} is not active.")
    if promotion.valid_from and now < promotion.valid_from:
        when = timezone.localtime(promotion.valid_from).strftime("%d %b %Y %H:%M")
        raise PromotionRefused(
            PromotionRefused.Reason.NOT_YET_VALID, f"{named} is valid only from {when}."
        )
    if promotion.valid_until and now >= promotion.valid_until:
        raise PromotionRefused(PromotionRefused.Reason.EXPIRED, f"{named} has expired.")
    if promotion.minimum_subtotal and subtotal < promotion.minimum_subtotal:
        minimum = format_money(promotion.minimum_subtotal, currency)
        raise PromotionRefused(
            PromotionRefused.Reason.BELOW_MINIMUM,
            f"{named} needs items worth at least {minimum}.",
        )
    if promotion.max_redemptions is not None:
        used = redemptions_of([promotion.pk], now=now)[promotion.pk]
        if used.held + used.redeemed >= promotion.max_redemptions:
            raise PromotionRefused(PromotionRefused.Reason.EXHAUSTED, f"{named} has been used up.")
    return promotion


def snapshot_of(promotion: PromotionCode) -> dict:
    """The terms an order keeps, and the provider's coupon key: derived from the code, its
    revision and its terms, so an editor's change makes a new coupon."""
    terms = {
        "code": promotion.code,
        "percent_off": promotion.percent_off,
        "amount_off": promotion.amount_off,
        "revision": promotion.latest_revision_id,
    }
    digest = hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()[:16]
    return {
        **terms,
        "coupon_key": f"coupon-{promotion.code}-{promotion.latest_revision_id}-{digest}",
    }


def describe(snapshot: dict, currency: str) -> str:
    """ "WELCOME10 (10% off)"."""
    if snapshot.get("percent_off") is not None:
        return f"{snapshot['code']} ({snapshot['percent_off']}% off)"
    return f"{snapshot['code']} ({format_money(snapshot.get('amount_off') or 0, currency)} off)"


@dataclass(frozen=True)
class PromotionPreview:
    """What the shop page says about a typed code: the discount on the chosen items, or
    ``error``. ``code`` is what to put back in the field."""

    code: str = ""
    error: str = ""
    percent_off: int | None = None
    amount_off: int | None = None
    minimum_subtotal: int | None = None
    subtotal: int = 0
    discount: int = 0
    currency: str = "usd"

    @property
    def applied(self) -> bool:
        return not self.error and (self.percent_off is not None or self.amount_off is not None)

    @property
    def discount_display(self) -> str:
        return format_money(self.discount, self.currency)

    @property
    def total_display(self) -> str:
        return format_money(self.subtotal - self.discount, self.currency)

    @property
    def minimum_display(self) -> str:
        return format_money(self.minimum_subtotal or 0, self.currency)

    @property
    def terms_display(self) -> str:
        if self.percent_off is not None:
            return f"{self.percent_off}% off"
        return f"{format_money(self.amount_off or 0, self.currency)} off"


def promotion_preview(code, *, subtotal: int, currency: str) -> PromotionPreview:
    """The typed ``code`` checked against the chosen items' ``subtotal`` (display only:
    checkout checks again and holds a redemption)."""
    text = code.strip()[:CODE_MAX_LENGTH] if isinstance(code, str) else ""
    if not text:
        return PromotionPreview(error="Type a promotion code, then press Apply.")
    try:
        promotion = promotion_check(text, subtotal=subtotal, currency=currency)
    except PromotionRefused as refused:
        return PromotionPreview(code=text, error=refused.message, currency=currency)
    return PromotionPreview(
        code=promotion.code,
        percent_off=promotion.percent_off,
        amount_off=promotion.amount_off,
        minimum_subtotal=promotion.minimum_subtotal,
        subtotal=subtotal,
        discount=discount_for(
            percent_off=promotion.percent_off, amount_off=promotion.amount_off, subtotal=subtotal
        ),
        currency=currency,
    )
