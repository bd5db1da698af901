"""Writes to promotion codes: created and published through revisions, as the admin does."""

import logging

from django.db import transaction

from shop.models import PromotionCode
from shop.models.promotions import code_normalise
from shop.services.products import snippet_create_revised

logger = logging.getLogger(__name__)


@transaction.atomic
def promotion_code_create(
    *,
    code: str,
    percent_off: int | None = None,
    amount_off: int | None = None,
    minimum_subtotal: int | None = None,
    max_redemptions: int | None = None,
    valid_from=None,
    valid_until=None,
    active: bool = True,
    seed_key: str | None = None,
    publish: bool = True,
) -> PromotionCode:
    """Create a code with a first revision, published unless ``publish`` is False.

    Raises ValidationError when the terms are not exactly one of a percentage and an amount.
    """
    promotion = PromotionCode(
        code=code_normalise(code),
        percent_off=percent_off,
        amount_off=amount_off,
        minimum_subtotal=minimum_subtotal,
        max_redemptions=max_redemptions,
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
        seed_key=seed_key,
    )
    promotion.full_clean()
    snippet_create_revised(promotion, publish=publish)
    logger.info("promotion code %s created (live=%s)", promotion.code, promotion.live)
    return promotion
