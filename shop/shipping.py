"""What the shop offers for delivery, and whether what a shopper paid matches it.

The one owner of "which rates does checkout offer": live, active rates, each for the
countries it shares with Settings → Store settings (a rate's country outside that list is
ignored there), free when the order's subtotal reaches its threshold. An order keeps a
snapshot of its offer (``Order.shipping_offered``), so a retry of its checkout repeats
exactly the same parameters and the amounts check never depends on later edits.
"""

from __future__ import annotations

from dataclasses import dataclass

from wagtail.models import Site

from home.models import StoreSettings
from shop.models.orders import Order
from shop.models.shipping import ShippingRate
from shop.money import format_money
from shop.payments.base import CheckoutSession, ShippingAddress, ShippingOption
from shop.promotions import discount_accepts


@dataclass(frozen=True)
class ShippingOffer:
    countries: tuple[str, ...]  # where the address may be
    options: tuple[ShippingOption, ...]  # in the order the shopper sees them
    ask_phone: bool = False

    def to_snapshot(self) -> dict:
        return {
            "countries": list(self.countries),
            "ask_phone": self.ask_phone,
            "options": [
                {
                    "key": o.key,
                    "name": o.name,
                    "amount": o.amount,
                    "min_days": o.min_days,
                    "max_days": o.max_days,
                    "countries": list(o.countries),
                }
                for o in self.options
            ],
        }

    @classmethod
    def from_snapshot(cls, snapshot) -> ShippingOffer:
        """The offer an order was made; empty for orders placed before the shop shipped."""
        if not isinstance(snapshot, dict) or not snapshot.get("options"):
            return cls(countries=(), options=())
        return cls(
            countries=tuple(snapshot["countries"]),
            ask_phone=bool(snapshot.get("ask_phone")),
            options=tuple(
                ShippingOption(
                    key=o["key"],
                    name=o["name"],
                    amount=o["amount"],
                    min_days=o["min_days"],
                    max_days=o["max_days"],
                    countries=tuple(o["countries"]),
                )
                for o in snapshot["options"]
            ),
        )


def store_settings() -> StoreSettings:
    site = Site.objects.filter(is_default_site=True).first()
    return StoreSettings.for_site(site) if site else StoreSettings()


def rates_offered():
    """The rates checkout may offer, in the editors' order (countries not yet narrowed)."""
    return ShippingRate.objects.filter(live=True, active=True)


def shipping_offer(*, subtotal: int, settings: StoreSettings | None = None) -> ShippingOffer:
    """What checkout offers an order of ``subtotal`` now; no options: the shop cannot ship."""
    return _offer(list(rates_offered()), settings or store_settings(), subtotal=subtotal)


def _offer(rates: list[ShippingRate], settings: StoreSettings, *, subtotal: int) -> ShippingOffer:
    ship_to = [country.code for country in settings.ship_to_countries]
    options = []
    for rate in rates:
        countries = tuple(c.code for c in rate.countries if c.code in ship_to)
        if not countries:
            continue
        options.append(
            ShippingOption(
                key=f"rate-{rate.pk}",
                name=rate.name,
                amount=rate.amount_for(subtotal),
                min_days=rate.min_days,
                max_days=rate.max_days,
                countries=countries,
            )
        )
    covered = {c for option in options for c in option.countries}
    return ShippingOffer(
        countries=tuple(c for c in ship_to if c in covered),
        options=tuple(options),
        ask_phone=settings.ask_for_phone,
    )


def shipping_summary(*, currency: str, settings: StoreSettings | None = None) -> str:
    """For the shop page: "Shipping from $4.95, free over $50.00", chosen at checkout."""
    rates = list(rates_offered())
    offer = _offer(rates, settings or store_settings(), subtotal=0)
    if not offer.options:
        return ""
    cheapest = min(option.amount for option in offer.options)
    text = f"Shipping from {format_money(cheapest, currency)}" if cheapest else "Free shipping"
    offered = {option.key for option in offer.options}
    thresholds = [
        r.free_from for r in rates if r.free_from is not None and f"rate-{r.pk}" in offered
    ]
    if cheapest and thresholds:
        text += f", free over {format_money(min(thresholds), currency)}"
    return f"{text}: choose your delivery at checkout."


@dataclass(frozen=True)
class AmountsChecked:
    """The outcome of comparing a paid session with the order: ``problem`` empty when it
    matches, and then the option and address the order ships with."""

    problem: str = ""
    option: ShippingOption | None = None
    address: ShippingAddress | None = None
    discount: int = 0  # the discount the session reported, to record on the order
    tax: int = 0  # the tax the session reported, to record on the order


def _tax_check(order: Order, session: CheckoutSession) -> tuple[int, int, str]:
    """(tax reported, tax added on top of the prices, problem) for the order's tax behaviour.

    Exclusive tax is added to the total; inclusive tax is already inside the prices, so it
    adds nothing. Either way it can be neither negative nor more than the total; an order
    placed without automatic tax accepts none.
    """
    money = lambda amount: format_money(amount or 0, order.currency)  # noqa: E731
    tax = session.amount_tax or 0
    if tax < 0 or tax > (session.amount_total or 0):
        return tax, 0, f"tax {money(tax)} is not within the total {money(session.amount_total)}"
    if not order.tax_behavior:
        return tax, 0, f"tax {money(tax)} charged, the order asked for none" if tax else ""
    return tax, tax if order.tax_behavior == "exclusive" else 0, ""


def amounts_check(order: Order, session: CheckoutSession) -> AmountsChecked:
    """Our lines = the session's subtotal, its discount = what the order's promotion code
    takes off, its shipping = an option we offered for the address's country, and
    total = subtotal − discount + shipping + tax, where tax is the exclusive tax the
    provider added (inclusive tax is inside the prices). Currency checked too."""
    money = lambda amount: format_money(amount or 0, order.currency)  # noqa: E731
    if session.currency != order.currency:
        return AmountsChecked(f"currency {session.currency} is not the order's {order.currency}")
    tax, added_tax, problem = _tax_check(order, session)
    if problem:
        return AmountsChecked(problem)
    offer = ShippingOffer.from_snapshot(order.shipping_offered)
    if not offer.options:
        # Placed before the shop shipped: the total is the lines.
        if session.amount_total != order.amount_total + added_tax:
            return AmountsChecked(
                f"charged {money(session.amount_total)}, order is "
                f"{money(order.amount_total + added_tax)}"
            )
        return AmountsChecked(tax=tax)
    if session.amount_subtotal != order.amount_subtotal:
        return AmountsChecked(
            f"subtotal {money(session.amount_subtotal)}, our lines are "
            f"{money(order.amount_subtotal)}"
        )
    discount = session.amount_discount
    if not discount_accepts(
        order.promotion_terms, subtotal=order.amount_subtotal, reported=discount
    ):
        return AmountsChecked(
            f"discount {money(discount)}, the order's code takes off {money(order.amount_discount)}"
        )
    address = session.shipping_address
    if address is None or address.country not in offer.countries:
        where = address.country if address and address.country else "no address"
        return AmountsChecked(f"shipping address ({where}) is not one we ship to")
    shipping = session.amount_shipping
    candidates = list(enumerate(offer.options))
    if session.shipping_option_index is not None:
        candidates = [c for c in candidates if c[0] == session.shipping_option_index]
    option = next(
        (o for _, o in candidates if o.amount == shipping and address.country in o.countries),
        None,
    )
    if option is None:
        return AmountsChecked(
            f"shipping {money(shipping)} to {address.country} is not a rate we offered"
        )
    expected = order.amount_subtotal - discount + option.amount + added_tax
    if session.amount_total != expected:
        return AmountsChecked(f"charged {money(session.amount_total)}, expected {money(expected)}")
    return AmountsChecked(option=option, address=address, discount=discount, tax=tax)
