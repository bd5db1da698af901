"""Promotion codes for tests: made and published as an editor would."""

from shop.models import PromotionCode
from shop.services.promotion_codes import promotion_code_create


def promotion(code: str = "SAVE10", **terms) -> PromotionCode:
    """A live code; 10% off unless ``terms`` say otherwise (amount_off=..., max_redemptions...)."""
    if "amount_off" not in terms and "percent_off" not in terms:
        terms["percent_off"] = 10
    return promotion_code_create(code=code, **terms)


def promotion_publish(code: str, **changes) -> PromotionCode:
    """An editor changes a code and publishes it."""
    edited = PromotionCode.objects.get(code=code)
    for field, value in changes.items():
        setattr(edited, field, value)
    edited.save_revision().publish()
    edited.refresh_from_db()
    return edited
