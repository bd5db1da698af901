"""Writes to shipping rates: created and published through revisions, as the admin does."""

import logging

from django.db import transaction

from shop.models import ShippingRate
from shop.services.products import snippet_create_revised

logger = logging.getLogger(__name__)


@transaction.atomic
def shipping_rate_create(
    *,
    name: str,
    amount: int,
    countries: list[str],
    min_days: int,
    max_days: int,
    free_from: int | None = None,
    sort_order: int = 0,
    seed_key: str | None = None,
    publish: bool = True,
) -> ShippingRate:
    """Create a rate with a first revision, published unless ``publish`` is False."""
    rate = ShippingRate(
        name=name,
        amount=amount,
        countries=countries,
        min_days=min_days,
        max_days=max_days,
        free_from=free_from,
        sort_order=sort_order,
        seed_key=seed_key,
    )
    snippet_create_revised(rate, publish=publish)
    logger.info("shipping rate %s created (live=%s)", rate.name, rate.live)
    return rate
