"""Shipping paid orders: unfulfilled → shipped → delivered, beside the payment status.

The only code that changes ``Order.fulfilment_status``. Each service locks the order row,
refuses with a :class:`ShipmentRefused` saying why (changing nothing), or makes the change
and writes its ``OrderEvent`` in the same transaction. A shipment queues its one e-mail
after commit; two operators shipping one order at once get one shipment and one e-mail
(the second waits for the lock, then finds it shipped).
"""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import formats, timezone

from shop.models import Order, OrderEvent, Source
from shop.models.orders import TRACKING_URL_SCHEMES
from shop.tasks import order_shipped_email_queue

logger = logging.getLogger(__name__)

CARRIER_MAX_LENGTH = Order._meta.get_field("carrier").max_length
TRACKING_NUMBER_MAX_LENGTH = Order._meta.get_field("tracking_number").max_length
TRACKING_URL_MAX_LENGTH = Order._meta.get_field("tracking_url").max_length
_tracking_url_valid = URLValidator(schemes=list(TRACKING_URL_SCHEMES))


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class ShipmentRefused(Exception):
    """A shipment change was refused and nothing changed; ``message`` says why, and
    ``field`` names the detail that was wrong ("" when it is the order's state)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ShipmentDetails:
    """What an operator says about a parcel, checked: see :func:`shipment_details_clean`."""

    carrier: str
    tracking_number: str = ""
    tracking_url: str = ""


def _text(value: str, *, field: str, what: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ShipmentRefused(
            f"The {what} is too long: at most {max_length} characters.", field=field
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ShipmentRefused(
            f"The {what} contains characters that cannot be printed.", field=field
        )
    return text


def shipment_details_clean(
    *, carrier: str, tracking_number: str = "", tracking_url: str = ""
) -> ShipmentDetails:
    """The carrier (required), tracking number and tracking URL (http or https), trimmed;
    ShipmentRefused names the first that is wrong."""
    details = ShipmentDetails(
        carrier=_text(carrier, field="carrier", what="carrier", max_length=CARRIER_MAX_LENGTH),
        tracking_number=_text(
            tracking_number,
            field="tracking_number",
            what="tracking number",
            max_length=TRACKING_NUMBER_MAX_LENGTH,
        ),
        tracking_url=_text(
            tracking_url,
            field="tracking_url",
            what="tracking URL",
            max_length=TRACKING_URL_MAX_LENGTH,
        ),
    )
    if not details.carrier:
        raise ShipmentRefused("Say which carrier took the parcel.", field="carrier")
    if details.tracking_url:
        try:
            _tracking_url_valid(details.tracking_url)
        except ValidationError:
            raise ShipmentRefused(
                "The tracking URL must be a web address starting with http:// or https://.",
                field="tracking_url",
            ) from None
    return details


def shipment_refusal(order: Order) -> str | None:
    """Why ``order`` cannot be shipped now, or None: only orders still paid for ship (a partly
    refunded one ships what is left), and once."""
    if order.status not in Order.SHIPPABLE_STATUSES:
        return (
            f"Order {order.reference} is {order.status_label.lower()}: only paid orders can be "
            "shipped."
        )
    if order.is_shipped:
        return (
            f"Order {order.reference} was already shipped on {_when(order.shipped_at)}"
            f" with {order.carrier}."
        )
    return None


def order_ship(
    *,
    order: Order,
    carrier: str,
    tracking_number: str = "",
    tracking_url: str = "",
    source: Source,
) -> Order:
    """Mark a paid order shipped with its carrier and tracking; one e-mail after commit.

    Raises ShipmentRefused (nothing changed) for bad details, an order that is not paid
    (unpaid, refunded) or one already shipped. Returns the order as saved.
    """
    details = shipment_details_clean(
        carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        refusal = shipment_refusal(locked)
        if refusal:
            logger.info("order %s not shipped (%s) source=%s", locked.reference, refusal, source)
            raise ShipmentRefused(refusal)
        locked.fulfilment_status = Order.FulfilmentStatus.SHIPPED
        locked.carrier = details.carrier
        locked.tracking_number = details.tracking_number
        locked.tracking_url = details.tracking_url
        locked.shipped_at = timezone.now()
        locked.save(
            update_fields=[
                "fulfilment_status",
                "carrier",
                "tracking_number",
                "tracking_url",
                "shipped_at",
                "updated_at",
            ]
        )
        message = f"With {details.carrier}"
        if details.tracking_number:
            message += f", tracking {details.tracking_number}"
        OrderEvent.objects.record(locked, OrderEvent.Kind.SHIPPED, source, message=message)
        order_id = locked.pk
        transaction.on_commit(lambda: order_shipped_email_queue(order_id))
    logger.info("order %s shipped with %s source=%s", locked.reference, details.carrier, source)
    return locked


def order_mark_delivered(*, order: Order, source: Source) -> Order:
    """A shipped order reached the shopper: shipped → delivered, once.

    Raises ShipmentRefused (nothing changed) when it has not shipped or is already delivered.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.fulfilment_status == Order.FulfilmentStatus.DELIVERED:
            raise ShipmentRefused(
                f"Order {locked.reference} was already marked delivered on "
                f"{_when(locked.delivered_at)}."
            )
        if locked.fulfilment_status != Order.FulfilmentStatus.SHIPPED:
            raise ShipmentRefused(
                f"Order {locked.reference} has not been shipped: mark it shipped first."
            )
        locked.fulfilment_status = Order.FulfilmentStatus.DELIVERED
        locked.delivered_at = timezone.now()
        locked.save(update_fields=["fulfilment_status", "delivered_at", "updated_at"])
        OrderEvent.objects.record(locked, OrderEvent.Kind.DELIVERED, source)
    logger.info("order %s delivered source=%s", locked.reference, source)
    return locked


@dataclass
class ShipmentsOutcome:
    """What a bulk shipment did: the orders shipped, and each refused one with why."""

    shipped: list[Order] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def orders_ship(
    *, orders: list[Order], carrier: str, tracking_numbers: dict[int, str], source: Source
) -> ShipmentsOutcome:
    """Ship several orders with one carrier, each with its own tracking number (optional).

    Each order is shipped on its own (its own lock, timeline entry and e-mail), so one
    refused order never holds back the others.
    """
    outcome = ShipmentsOutcome()
    for order in orders:
        try:
            shipped = order_ship(
                order=order,
                carrier=carrier,
                tracking_number=tracking_numbers.get(order.pk, ""),
                source=source,
            )
        except ShipmentRefused as refused:
            outcome.refused.append((order.reference, refused.message))
        else:
            outcome.shipped.append(shipped)
    return outcome
