"""Stock: how many units of each tracked product are left, and what holds them.

A product with ``stock`` empty is not tracked and is never refused for stock. For a tracked
one, ``available = stock - held - sold``, where

- *held* counts the units of order lines whose hold is neither released nor sold and whose
  ``held_until`` is still ahead: a hold lapses on its own when its payment session can no
  longer be paid, whether or not anything has told us the session expired;
- *sold* counts the units of order lines that were paid for, less those a refund put back
  on sale (``returned_quantity``).

The writes (placing a hold, releasing it, selling it) live in the services
(shop/services/checkout.py and shop/services/fulfilment.py); this module only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db.models import F, Q, Sum
from django.utils import timezone

from shop.models import OrderLine, Product

# A hold outlives its payment session by this much, so that a provider whose clock runs a
# little behind ours can still take a payment for units we still hold.
HOLD_MARGIN = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class StockLevel:
    """One product's stock; ``stock`` and ``available`` are None when it is not tracked.

    ``available`` may be below zero when an editor lowered the stock under what is held
    and sold.
    """

    stock: int | None
    held: int
    sold: int
    available: int | None

    @property
    def tracked(self) -> bool:
        return self.stock is not None


def holding(now: dt.datetime) -> Q:
    """The order lines whose units are held for them at ``now``."""
    return Q(
        held_quantity__gt=0,
        hold_released_at__isnull=True,
        sold_at__isnull=True,
        held_until__gt=now,
    )


def stock_levels(
    product_ids: Iterable[int], *, now: dt.datetime | None = None
) -> dict[int, StockLevel]:
    """The stock level of each existing product in ``product_ids``, in at most two queries."""
    ids = set(product_ids)
    if not ids:
        return {}
    stock = dict(Product.objects.filter(pk__in=ids).values_list("pk", "stock"))
    return stock_levels_of(stock, now=now)


def stock_levels_of(
    stock: Mapping[int, int | None], *, now: dt.datetime | None = None
) -> dict[int, StockLevel]:
    """The stock levels of products whose ``stock`` the caller has already read: one query
    when any of them is tracked, none when none is."""
    now = now or timezone.now()
    tracked = [pk for pk, units in stock.items() if units is not None]
    counts = {}
    if tracked:
        counts = {
            row["product_id"]: row
            for row in OrderLine.objects.filter(product_id__in=tracked, held_quantity__gt=0)
            .order_by()
            .values("product_id")
            .annotate(
                held=Sum("held_quantity", filter=holding(now), default=0),
                sold=Sum(
                    F("held_quantity") - F("returned_quantity"),
                    filter=Q(sold_at__isnull=False),
                    default=0,
                ),
            )
        }
    levels = {}
    for pk, units in stock.items():
        row = counts.get(pk, {})
        held, sold = row.get("held", 0), row.get("sold", 0)
        available = None if units is None else units - held - sold
        levels[pk] = StockLevel(stock=units, held=held, sold=sold, available=available)
    return levels


def units_text(lines: Iterable[OrderLine]) -> str:
    """Order lines' held units in words, for the timeline: "Mug × 2, Tote × 1"."""
    return ", ".join(f"{line.product_name} × {line.held_quantity}" for line in lines)


def stock_level(product_id: int, *, now: dt.datetime | None = None) -> StockLevel | None:
    """One product's stock level; None when there is no such product."""
    return stock_levels([product_id], now=now).get(product_id)
