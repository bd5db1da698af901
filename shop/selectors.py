"""Reads. Pages and views ask these; none of them writes."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, QuerySet, Sum
from django.utils import timezone
from wagtail.images import get_image_model

from search.terms import search_terms
from shop.models import Order, Product, ShopPage
from shop.shoppers import Shopper

PRODUCT_CARD_RENDITION = "fill-640x420"


def shop_page_live() -> ShopPage | None:
    """The live shop page, or None while the shop is closed; every link to the shop asks it."""
    return ShopPage.objects.live().first()


def product_list_for_sale() -> QuerySet[Product]:
    """Live, available products in editor order, with their card image renditions prefetched."""
    images = get_image_model().objects.prefetch_renditions(PRODUCT_CARD_RENDITION)
    return Product.objects.for_sale().prefetch_related(Prefetch("image", queryset=images))


def product_search_for_sale(query: str) -> list[Product]:
    """Products for sale matching ``query``, best match first.

    The search backend can only filter on indexed fields, and what is for sale also
    depends on the schedule and revisions, so the matches are narrowed by ``for_sale``.
    """
    for_sale = set(Product.objects.for_sale().values_list("pk", flat=True))
    candidates = Product.objects.select_related("image")
    matches = list(candidates.search(search_terms(query), operator="or"))
    if not matches:
        # Whole words found nothing: the start of a name ("napkin" for "Linen Napkins") may.
        matches = list(candidates.autocomplete(query, operator="or"))
    return [product for product in matches if product.pk in for_sale]


def products_by_id_for_sale(ids) -> dict[int, Product]:
    """Those of ``ids`` for sale, by id, in the shop's order."""
    return {product.pk: product for product in Product.objects.for_sale().filter(pk__in=ids)}


def order_recently_paid_with_lines(
    *, shopper: Shopper, lines: list[tuple[int, int]], since: dt.datetime, exclude_token=None
) -> Order | None:
    """The shopper's newest order paid at or after ``since`` whose lines are exactly
    ``lines`` ((product id, quantity) pairs), or None."""
    wanted = sorted(lines)
    recent = (
        Order.objects.owned_by(shopper)
        .filter(status=Order.Status.PAID, paid_at__gte=since)
        .exclude(checkout_token=exclude_token)
    )
    for order in recent.with_lines().order_by("-paid_at", "-pk")[:20]:
        if sorted((line.product_id, line.quantity) for line in order.lines.all()) == wanted:
            return order
    return None


# A pending order older than this has probably lost its webhook: the dashboard counts it,
# the admin filters it and ``reconcile_payments`` asks the gateway about it.
STALE_PENDING_AFTER = dt.timedelta(minutes=30)


def order_list_awaiting_confirmation(
    *, older_than: dt.timedelta = STALE_PENDING_AFTER, now: dt.datetime | None = None
) -> QuerySet[Order]:
    """Pending orders whose payment session was opened more than ``older_than`` ago, oldest first.

    Orders without a session never reached the payment page and cannot be paid.
    """
    cutoff = (now or timezone.now()) - older_than
    return Order.objects.filter(
        status=Order.Status.PENDING,
        payment_session_id__isnull=False,
        created_at__lte=cutoff,
    ).order_by("created_at", "pk")


@dataclass(frozen=True)
class Sales:
    """Paid orders in a period: how many, and the money taken per currency (minor units)."""

    orders: int
    totals: dict[str, int]


def order_sales_since(since: dt.datetime) -> Sales:
    """Orders paid at or after ``since`` that are still paid, and what they kept: a refunded
    order is not revenue, a partially refunded one counts less what went back."""
    rows = (
        Order.objects.filter(status__in=Order.REFUNDABLE_STATUSES, paid_at__gte=since)
        .values("currency")
        .annotate(orders=Count("pk"), amount=Sum(F("amount_total") - F("amount_refunded")))
        .order_by("currency")
    )
    return Sales(
        orders=sum(row["orders"] for row in rows),
        totals={row["currency"]: row["amount"] for row in rows},
    )
