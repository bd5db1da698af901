"""Promotion codes: a percentage or an amount off the order (Shop → Promotion codes).

Snippets with drafts, revisions and publishing like products: the row holds the live
version, and only a live, active code within its dates is accepted (``shop.promotions``).
An order keeps a snapshot of the code's terms, so editing a code never changes an order.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, FieldRowPanel, PublishingPanel
from wagtail.models import DraftStateMixin, LockableMixin, RevisionMixin

from shop.forms import PromotionCodeForm
from shop.money import MAX_UNIT_AMOUNT, format_money

CODE_MAX_LENGTH = 40
CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]*$"


def code_normalise(value) -> str:
    """The code as stored and compared: trimmed and upper-cased ("" for anything else)."""
    return value.strip().upper() if isinstance(value, str) else ""


class PromotionCode(DraftStateMixin, LockableMixin, RevisionMixin, models.Model):
    code = models.CharField(
        max_length=CODE_MAX_LENGTH,
        unique=True,
        validators=[
            RegexValidator(
                CODE_PATTERN, "Use letters, digits, hyphens and underscores only, e.g. WELCOME10."
            )
        ],
        help_text="What shoppers type; upper and lower case are the same.",
    )
    percent_off = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="1–100. Fill in this or the amount off, not both.",
    )
    amount_off = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_UNIT_AMOUNT * 1000)],
        help_text="In the shop's currency (stored in minor units).",
    )
    minimum_subtotal = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_UNIT_AMOUNT * 1000)],
        help_text="The order's items must add up to at least this. Leave empty for none.",
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        "maximum redemptions",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="How many paid orders may use it. Leave empty for no limit.",
    )
    active = models.BooleanField(
        default=True, help_text="Untick to stop accepting the code without unpublishing it."
    )
    seed_key = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)

    revisions = GenericRelation(
        "wagtailcore.Revision",
        content_type_field="base_content_type",
        object_id_field="object_id",
        related_query_name="promotion_code",
        for_concrete_model=False,
    )

    base_form_class = PromotionCodeForm

    panels = [
        FieldPanel("code"),
        FieldRowPanel([FieldPanel("percent_off"), FieldPanel("amount_off")], heading="Discount"),
        FieldPanel("minimum_subtotal"),
        FieldRowPanel([FieldPanel("valid_from"), FieldPanel("valid_until")], heading="Valid"),
        FieldPanel("max_redemptions"),
        FieldPanel("active"),
        PublishingPanel(),
    ]

    class Meta:
        ordering = ["code"]
        verbose_name = "promotion code"

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = code_normalise(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        self.code = code_normalise(self.code)
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValidationError(
                {"percent_off": "Give either a percentage off or an amount off (exactly one)."}
            )
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end must be after the start."})

    @property
    def discount_display(self) -> str:
        if self.percent_off is not None:
            return f"{self.percent_off}% off"
        if self.amount_off is not None:
            return f"{format_money(self.amount_off, settings.SHOP_CURRENCY)} off"
        return ""
