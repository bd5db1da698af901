"""Placing an order and opening its hosted checkout.

One checkout token → one order → one payment session: the token is unique on Order,
and the gateway call carries ``idempotency_key = "checkout-<token>"``, so a double
click, a refresh or two racing server processes all end at the same session.
"""

import datetime as dt
import enum
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop import promotions, selectors, shipping, stock
from shop.cart import Cart
from shop.models import Order, OrderEvent, OrderLine, Product, PromotionCode, Source
from shop.models.promotions import code_normalise
from shop.payments import get_gateway, limits
from shop.payments.base import CheckoutLine, CheckoutRequest, CheckoutSession, Discount
from shop.services import fulfilment
from shop.shop_state import shop_state_changed
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)

# How long a shopper has on the payment page, counted from the order's creation so that a
# retry sends exactly the same parameters (the idempotency key requires it). The extra
# minute over the provider's shortest lifetime covers placing the order and reaching it.
SESSION_LIFETIME = limits.SHORTEST_SESSION_LIFETIME + dt.timedelta(minutes=1)
# Nearer than the provider's shortest lifetime is refused; the seconds allow for clocks.
SHORTEST_SESSION_LIFETIME = limits.SHORTEST_SESSION_LIFETIME + dt.timedelta(seconds=10)
ORIGIN_MAX_LENGTH = Order._meta.get_field("site_origin").max_length
# Buying exactly the cart paid for this recently is probably a mistake (Back, then Buy):
# the shopper is asked first.
REPEAT_PURCHASE_WINDOW = dt.timedelta(minutes=15)


class CheckoutRefused(Exception):
    """This checkout cannot go on; ``reason`` says why, and nothing new was ordered."""

    class Reason(enum.Enum):
        # The token's order belongs to another shopper.
        NOT_YOURS = "not yours"
        # The token's order is no longer pending (canceled, expired, failed).
        ENDED = "ended"
        # The token's order was placed for other lines than the cart now posted.
        CART_CHANGED = "cart changed"
        # The token's payment session can no longer be opened with the same expiry.
        TIMED_OUT = "timed out"
        # No live, active shipping rate covers a country the shop ships to: it cannot sell.
        NO_SHIPPING = "no shipping"

    def __init__(self, reason: "CheckoutRefused.Reason"):
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class ShortLine:
    """A product the shopper asked more of than is available."""

    product: Product
    wanted: int
    available: int  # never below zero


class OutOfStock(Exception):
    """Some lines ask for more than is available; nothing was ordered or held."""

    def __init__(self, short: tuple[ShortLine, ...]):
        super().__init__(", ".join(f"{s.product.pk}: {s.available} left" for s in short))
        self.short = short


class OrderAlreadyPaid(Exception):
    def __init__(self, order: Order):
        super().__init__(order.reference)
        self.order = order


class RepeatPurchase(Exception):
    """The shopper paid for exactly this cart a few minutes ago and has not said to buy again."""

    def __init__(self, order: Order, *, now: dt.datetime):
        super().__init__(order.reference)
        self.order = order
        # Whole minutes since it was paid, at least one.
        self.minutes_ago = max(1, int((now - order.paid_at).total_seconds() // 60))


@dataclass(frozen=True)
class CheckoutUrls:
    """Absolute URLs the payment page sends the shopper back to."""

    success_url: str  # ends with "?session_id={CHECKOUT_SESSION_ID}"
    cancel_url_base: str  # the order reference is appended
    # The checkout request's validated origin, kept on the order for links sent later.
    origin: str = ""

    def cancel_url(self, order: Order) -> str:
        return f"{self.cancel_url_base}?order={order.reference}"


def _lines_match(order: Order, cart: Cart) -> bool:
    placed = sorted((line.product_id, line.quantity) for line in order.lines.all())
    wanted = sorted((line.product.pk, line.quantity) for line in cart.lines)
    return placed == wanted


def session_expiry(order: Order) -> dt.datetime:
    """When the order's payment session expires: fixed by its creation, so a retry repeats it."""
    return order.created_at.replace(microsecond=0) + SESSION_LIFETIME


def _stock_hold(order: Order, cart: Cart) -> dict[int, int]:
    """Inside the order's transaction: the units to hold per tracked product, or OutOfStock.

    The tracked products' rows are locked (in primary-key order, so two checkouts never
    wait on each other in a cycle) before what is available is read: concurrent checkouts
    take turns, and together never hold more than the stock.
    """
    wanted: dict[int, int] = {}
    for line in cart.lines:
        wanted[line.product.pk] = wanted.get(line.product.pk, 0) + line.quantity
    # Their stock is read by the statement that locks them.
    stock_of = dict(
        Product.objects.select_for_update()
        .filter(pk__in=wanted, stock__isnull=False)
        .order_by("pk")
        .values_list("pk", "stock")
    )
    if not stock_of:
        return {}
    tracked = list(stock_of)
    levels = stock.stock_levels_of(stock_of)
    products = {line.product.pk: line.product for line in cart.lines}
    short = tuple(
        ShortLine(products[pk], wanted[pk], max(0, levels[pk].available))
        for pk in tracked
        if wanted[pk] > levels[pk].available
    )
    if short:
        raise OutOfStock(short)
    return {pk: wanted[pk] for pk in tracked}


def _promotion_hold(cart: Cart, code: str) -> tuple[PromotionCode | None, dict, int]:
    """Inside the order's transaction: (code, its terms, discount), the code's row locked
    so racing checkouts take turns for its last redemptions; PromotionRefused if refused."""
    if not code:
        return None, {}, 0
    promotion = promotions.promotion_check(
        code, subtotal=cart.amount_total, currency=cart.currency, lock=True
    )
    terms = promotions.snapshot_of(promotion)
    discount = promotions.discount_for(
        percent_off=promotion.percent_off,
        amount_off=promotion.amount_off,
        subtotal=cart.amount_total,
    )
    return promotion, terms, discount


def _token_used(cart: Cart) -> bool:
    return Order.objects.filter(checkout_token=cart.checkout_token).exists()


def _order_create(cart: Cart, shopper: Shopper, promotion_code: str = "") -> Order:
    # A token that already made an order goes on to it (its own hold must not refuse it);
    # without a code or a refusal to make, the order's INSERT finds out (IntegrityError).
    used = bool(promotion_code) and _token_used(cart)
    settings = shipping.store_settings()
    with transaction.atomic():
        promotion, terms, discount = _promotion_hold(cart, "" if used else promotion_code)
        # Free shipping thresholds look at what the items cost after the discount.
        offer = shipping.shipping_offer(subtotal=cart.amount_total - discount, settings=settings)
        if not offer.options and not (used or _token_used(cart)):
            logger.error("checkout refused: no active shipping rate covers a ship-to country")
            raise CheckoutRefused(CheckoutRefused.Reason.NO_SHIPPING)
        order = Order(
            checkout_token=cart.checkout_token,
            currency=cart.currency,
            amount_subtotal=cart.amount_total,
            amount_discount=discount,
            amount_total=cart.amount_total - discount,
            promotion=promotion,
            promotion_code=terms.get("code", ""),
            promotion_terms=terms,
            user_id=shopper.user_id,
            guest_token="" if shopper.user_id else (shopper.guest_token or ""),
            customer_email=shopper.email or "",
            shipping_offered=offer.to_snapshot(),
            tax_behavior=settings.tax_behavior_in_use,
            invoice_requested=settings.hosted_invoices,
        )
        # Its creation time is set: the holds last as long as its session can be paid.
        held_until = session_expiry(order) + stock.HOLD_MARGIN
        if promotion is not None:
            order.promotion_held_until = held_until
        order.save(force_insert=True)
        # After the order: a token used before fails on it first, and goes on to its order.
        held = _stock_hold(order, cart)
        if held:
            shop_state_changed()  # fewer units left on the held products' cards
        shares = promotions.shares_split([line.amount for line in cart.lines], discount)
        lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=line.product,
                product_name=line.product.name,
                unit_amount=line.product.unit_amount,
                currency=line.product.currency,
                quantity=line.quantity,
                tax_code=line.product.tax_code,
                held_quantity=line.quantity if line.product.pk in held else 0,
                held_until=held_until if line.product.pk in held else None,
                amount_discount=share,
            )
            for line, share in zip(cart.lines, shares, strict=True)
        )
        placed = f"Total {order.total_display}"
        if terms:
            placed += f", promotion code {promotions.describe(terms, order.currency)}: "
            placed += f"{order.discount_display} off, redemption held until {held_until:%H:%M} UTC"
        entries = [
            OrderEvent.objects.entry(
                order, OrderEvent.Kind.PLACED, Source.checkout(), message=placed
            )
        ]
        if held:
            units = stock.units_text(line for line in lines if line.held_quantity)
            entries.append(
                OrderEvent.objects.entry(
                    order,
                    OrderEvent.Kind.STOCK_HELD,
                    Source.checkout(),
                    message=f"Held until {held_until:%Y-%m-%d %H:%M} UTC: {units}",
                )
            )
        OrderEvent.objects.record_all(entries)
    _lines_known(order, lines)
    return order


def _lines_known(order: Order, lines: list[OrderLine]) -> None:
    """``order.lines.all()`` answers with the lines just written (in their order) rather
    than asking the database again: the payment session is opened from them next.

    Set as ``prefetch_related("lines")`` would have set it.
    """
    known = order.lines.all()
    known._result_cache, known._prefetch_done = list(lines), True
    order._prefetched_objects_cache = {"lines": known}


def _order_reuse(order: Order, cart: Cart, shopper: Shopper, promotion_code: str = "") -> Order:
    """The order this token already made, if this shopper may continue paying for it."""
    if not Order.objects.owned_by(shopper).filter(pk=order.pk).exists():
        raise CheckoutRefused(CheckoutRefused.Reason.NOT_YOURS)
    if order.status in Order.PAID_STATUSES:
        raise OrderAlreadyPaid(order)
    if order.status != Order.Status.PENDING:
        raise CheckoutRefused(CheckoutRefused.Reason.ENDED)
    if not _lines_match(order, cart) or order.promotion_code != code_normalise(promotion_code):
        raise CheckoutRefused(CheckoutRefused.Reason.CART_CHANGED)
    return order


def _repeat_purchase_check(cart: Cart, shopper: Shopper) -> None:
    if cart.repeat_confirmed:
        return
    now = timezone.now()
    previous = selectors.order_recently_paid_with_lines(
        shopper=shopper,
        lines=[(line.product.pk, line.quantity) for line in cart.lines],
        since=now - REPEAT_PURCHASE_WINDOW,
        exclude_token=cart.checkout_token,
    )
    # A token that already made an order goes on to that order (retry, Back from paying).
    if (
        previous is not None
        and not Order.objects.filter(checkout_token=cart.checkout_token).exists()
    ):
        raise RepeatPurchase(previous, now=now)


def order_place(*, cart: Cart, shopper: Shopper, promotion_code: str = "") -> Order:
    """Create the pending order for ``cart``, or find the one its checkout token already made.

    Raises RepeatPurchase when the shopper paid for exactly this cart in the last
    ``REPEAT_PURCHASE_WINDOW`` and has not confirmed buying it again, OutOfStock when a line
    asks for more of a tracked product than is available (nothing is ordered), CheckoutRefused when
    the token belongs to another shopper or was used for a different basket, and
    OrderAlreadyPaid when its order is paid, and PromotionRefused when ``promotion_code``
    cannot be used on this cart (nothing is ordered).
    """
    _repeat_purchase_check(cart, shopper)
    for _ in range(3):
        try:
            order = _order_create(cart, shopper, promotion_code)
        except IntegrityError:
            # The token was used before (double click, refresh, a racing request): reuse it.
            existing = (
                Order.objects.prefetch_related("lines")
                .filter(checkout_token=cart.checkout_token)
                .first()
            )
            if existing is None:
                continue  # a clash of random references; a new one is drawn next time
            return _order_reuse(existing, cart, shopper, promotion_code)
        logger.info(
            "order %s placed total=%s %s lines=%d",
            order.reference,
            order.amount_total,
            order.currency,
            len(cart.lines),
        )
        return order
    raise IntegrityError("could not place the order")


def _checkout_request(order: Order, urls: CheckoutUrls) -> CheckoutRequest:
    lines = tuple(
        CheckoutLine(
            name=line.product_name,
            unit_amount=line.unit_amount,
            currency=line.currency,
            quantity=line.quantity,
            tax_code=line.tax_code,
        )
        for line in order.lines.all()
    )
    offer = shipping.ShippingOffer.from_snapshot(order.shipping_offered)
    return CheckoutRequest(
        order_reference=order.reference,
        checkout_token=str(order.checkout_token),
        lines=lines,
        currency=order.currency,
        amount_total=order.amount_total,
        success_url=urls.success_url,
        cancel_url=urls.cancel_url(order),
        expires_at=session_expiry(order),
        customer_email=order.customer_email or None,
        # From the order's snapshot, never recomputed: a retry sends what the first did.
        shipping_countries=offer.countries,
        shipping_options=offer.options,
        collect_phone=offer.ask_phone,
        discount=_discount(order),
        tax_behavior=order.tax_behavior,
        invoice=order.invoice_requested,
    )


def _discount(order: Order) -> Discount | None:
    """The order's code as the gateway applies it, from its snapshot (never the live code)."""
    terms = order.promotion_terms
    if not terms:
        return None
    return Discount(
        code=terms["code"],
        percent_off=terms.get("percent_off"),
        amount_off=terms.get("amount_off"),
        idempotency_key=terms["coupon_key"],
    )


def checkout_session_open(*, order: Order, urls: CheckoutUrls) -> CheckoutSession:
    """Ask the gateway for this order's hosted checkout and remember its id on the order.

    Called outside any transaction: the gateway is a network service.
    Raises PaymentError subclasses from the gateway; the order then stays pending.
    """
    gateway = get_gateway()
    if order.payment_session_id:
        session = gateway.retrieve_session(order.payment_session_id)
        if session.is_open:
            return session
        if session.is_paid:
            # Paid a moment ago and the webhook has not arrived yet: settle it now.
            fulfilled = fulfilment.order_fulfil(session=session, source=Source.checkout())
            if fulfilled is not None and fulfilled.status == Order.Status.PAID:
                raise OrderAlreadyPaid(fulfilled)
        raise CheckoutRefused(CheckoutRefused.Reason.ENDED)
    request = _checkout_request(order, urls)
    if request.expires_at - timezone.now() < SHORTEST_SESSION_LIFETIME:
        # A retry must repeat the first attempt's expiry (same idempotency key, same
        # parameters), which is now too near for the provider: this token cannot open one.
        # The shopper gets a fresh token with the refusal, and their next Buy starts afresh.
        raise CheckoutRefused(CheckoutRefused.Reason.TIMED_OUT)
    session = gateway.create_session(request)
    # One statement, atomic on its own.
    updated = Order.objects.filter(pk=order.pk, payment_session_id__isnull=True).update(
        payment_session_id=session.id,
        session_expires_at=session.expires_at,
        # An origin too long to keep is not kept: links then fall back to the default.
        site_origin=urls.origin if len(urls.origin) <= ORIGIN_MAX_LENGTH else "",
        updated_at=timezone.now(),
    )
    if updated:
        logger.info("order %s checkout session %s opened", order.reference, session.id)
    order.payment_session_id = order.payment_session_id or session.id
    return session
