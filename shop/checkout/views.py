"""Checkout views: start (POST /checkout/), success and cancel. Plain Django, thin.

Start works without JavaScript (303 to the payment page) and for JSON clients
(``{"checkout_url": ...}``); every refusal is a 4xx with a message the shopper understands.
"""

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from shop.cart import (
    REPEAT_CONFIRMED_FIELD,
    CartError,
    PricesChanged,
    cart_build,
    chosen_quantities,
    parse_checkout_token,
    quantities_from_form,
    quantities_from_json,
)
from shop.models import Order, ShopPage, Source
from shop.models.orders import OrderQuerySet
from shop.models.pages import ORDERS_FIRST_SESSION_KEY
from shop.payments import gateway_class, get_gateway
from shop.payments.base import GatewayUnavailable, PaymentError, SessionNotFound
from shop.promotions import PROMOTION_FIELD, PromotionPreview, PromotionRefused, promotion_preview
from shop.selectors import products_by_id_for_sale, shop_page_live
from shop.services import fulfilment
from shop.services.checkout import (
    CheckoutRefused,
    CheckoutUrls,
    OrderAlreadyPaid,
    OutOfStock,
    RepeatPurchase,
    checkout_session_open,
    order_place,
)
from shop.shoppers import shopper_for_buy, shopper_from_request, shopper_session_rekey
from site_config.negotiation import wants_json
from site_config.ratelimit import rate_limited
from site_config.site_url import absolute_url, request_origin

logger = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "We could not find that checkout. If you paid, your order will appear below."


def _shop_url() -> str:
    page = shop_page_live()
    return (page.url if page else None) or "/"


def _typed_quantities(request: HttpRequest) -> dict[int, int]:
    """What the shopper typed into the form, so a refused page shows it again."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {}
    # A field sent twice is ambiguous: show neither value rather than guess.
    return chosen_quantities(
        {field: values[0] for field, values in request.POST.lists() if len(values) == 1}
    )


def _refuse(
    request, message: str, *, status: int, page: ShopPage | None, checkout_token=None
) -> HttpResponse:
    """The shop page again with ``message`` and the shopper's quantities (JSON: the error).

    ``checkout_token`` keeps the refused form's token, when its order exists and may be
    retried: pressing Buy again then finds that order instead of placing a second one.
    """
    if wants_json(request) or page is None:
        return JsonResponse({"error": message}, status=status)
    kept = {"checkout_token": checkout_token} if checkout_token is not None else {}
    typed = request.POST.getlist(PROMOTION_FIELD) if request.method == "POST" else []
    if len(typed) == 1 and typed[0].strip():
        # The code goes back in its field, with its discount or what is wrong with it.
        kept["promotion"] = _promotion_preview(typed[0], _typed_quantities(request))
    return page.render_shop(
        request,
        status=status,
        chosen_quantities=_typed_quantities(request),
        checkout_error=message,
        **kept,
    )


def _promotion_preview(code: str, quantities: dict[int, int]) -> PromotionPreview:
    """The typed code against the chosen items priced from the database (display only)."""
    products = products_by_id_for_sale([pk for pk, n in quantities.items() if n > 0])
    subtotal = sum(p.unit_amount * quantities[pk] for pk, p in products.items())
    return promotion_preview(code, subtotal=subtotal, currency=settings.SHOP_CURRENCY)


@require_POST
# Counted with checkouts: trying codes one after another is limited like buying.
@rate_limited("checkout", "CHECKOUT_RATE_LIMIT")
def promotion_apply(request: HttpRequest) -> HttpResponse:
    """Apply (no JavaScript needed): the Buy form posted here with its promotion code; the
    shop page again with the quantities kept and the discount, or why not (400). Nothing is
    written and no session is needed: the code goes on to checkout in the form."""
    page = shop_page_live()
    if page is None:
        return JsonResponse({"error": "The shop is closed."}, status=404)
    single = {field: values[0] for field, values in request.POST.lists() if len(values) == 1}
    quantities = chosen_quantities(single)
    preview = _promotion_preview(single.get(PROMOTION_FIELD, ""), quantities)
    return page.render_shop(
        request,
        status=400 if preview.error else 200,
        chosen_quantities=quantities,
        promotion=preview,
    )


# Why a checkout stopped, as the shopper is told: (status, message).
REFUSALS: dict[CheckoutRefused.Reason, tuple[int, str]] = {
    CheckoutRefused.Reason.NOT_YOURS: (
        403,
        "This checkout belongs to someone else. Please reload the page.",
    ),
    CheckoutRefused.Reason.ENDED: (409, "This checkout has ended. Please choose your items again."),
    CheckoutRefused.Reason.CART_CHANGED: (
        409,
        "Your choices changed after you started paying. Please check them and press Buy again.",
    ),
    CheckoutRefused.Reason.TIMED_OUT: (409, "This checkout has timed out. Please press Buy again."),
    CheckoutRefused.Reason.NO_SHIPPING: (
        409,
        "Sorry, we cannot take orders right now: no delivery is available. "
        "Nothing was ordered; please try again later.",
    ),
}


def _out_of_stock_message(exc: OutOfStock) -> str:
    parts = [
        f"{short.product.name} is sold out"
        if short.available == 0
        else f"only {short.available} left of {short.product.name}"
        for short in exc.short
    ]
    text = "; ".join(parts)
    return f"Sorry: {text}. Please choose fewer and press Buy again."


def _refuse_checkout(
    request: HttpRequest,
    exc: CheckoutRefused | OutOfStock | PaymentError,
    *,
    page: ShopPage,
    order: Order | None = None,
    token=None,
) -> HttpResponse:
    """The one place a refused checkout becomes a status code and a message.

    A payment-service failure keeps the form's ``token``: its order exists and pressing Buy
    again retries it. The service's own ``user_message`` is safe to show.
    """
    if isinstance(exc, CheckoutRefused):
        status, message = REFUSALS[exc.reason]
        return _refuse(request, message, status=status, page=page)
    if isinstance(exc, OutOfStock):
        # Nothing ordered or held: the page again, the shopper's choices kept.
        message = _out_of_stock_message(exc)
        if wants_json(request):
            available = {str(short.product.pk): short.available for short in exc.short}
            return JsonResponse({"error": message, "available": available}, status=409)
        return _refuse(request, message, status=409, page=page)
    if isinstance(exc, GatewayUnavailable):
        logger.warning("order %s: payment service unavailable: %s", order.reference, exc)
        status = 503
    else:
        logger.error("order %s: payment service refused the checkout: %s", order.reference, exc)
        status = 502
    return _refuse(request, exc.user_message, status=status, page=page, checkout_token=token)


def _read_fields(request: HttpRequest) -> tuple[object, dict, str]:
    """(checkout token, quantity fields, promotion code) from a form or JSON body;
    CartError when malformed."""
    if request.content_type == "application/json":
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise CartError("The order is too large. Please choose fewer items.") from exc
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise CartError("The request body is not valid JSON.") from exc
        except RecursionError as exc:
            # No cart is nested deeper than two levels; the parser gives up long before.
            raise CartError("The request body is nested too deeply.") from exc
        if not isinstance(body, dict):
            raise CartError('Send a JSON object: {"checkout_token": ..., "quantities": {...}}.')
        return body.get("checkout_token"), quantities_from_json(body), _promotion_field(body)
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise CartError("Send the order as a form or as JSON.")
    tokens = request.POST.getlist("checkout_token")
    if len(tokens) > 1:
        raise CartError("This page has expired. Please reload it and try again.")
    code = _promotion_field({PROMOTION_FIELD: request.POST.getlist(PROMOTION_FIELD)})
    return (
        (tokens[0] if tokens else None),
        quantities_from_form(dict(request.POST.lists())),
        code,
    )


def _promotion_field(data) -> str:
    """The promotion code typed ("" for none); CartError for one sent twice or not text."""
    value = data.get(PROMOTION_FIELD, "")
    if isinstance(value, list):
        if len(value) > 1:
            raise CartError("Send one promotion code.")
        value = value[0] if value else ""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CartError("The promotion code must be text.")
    return value.strip()


@rate_limited("checkout", "CHECKOUT_RATE_LIMIT")
def checkout_start(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # Reached by typing the address or from history after a refused form.
        return HttpResponseNotAllowed(
            ["POST"], "Choose your items on the shop page and press Buy to check out."
        )
    page = shop_page_live()
    if page is None:
        return JsonResponse({"error": "The shop is closed."}, status=404)
    fields: dict = {}
    try:
        raw_token, fields, promotion_code = _read_fields(request)
        token = parse_checkout_token(raw_token)
        cart = cart_build(checkout_token=token, fields=fields, max_quantity=page.max_quantity)
    except PricesChanged as exc:
        return _prices_changed(request, exc, page=page)
    except CartError as exc:
        return _refuse(request, exc.message, status=400, page=page)

    shopper = shopper_for_buy(request, checkout_token=cart.checkout_token)
    try:
        order = order_place(cart=cart, shopper=shopper, promotion_code=promotion_code)
    except PromotionRefused as exc:
        # Nothing ordered: the page again with the cart and the reason.
        status = 409 if exc.reason == PromotionRefused.Reason.EXHAUSTED else 400
        return _refuse(request, exc.message, status=status, page=page)
    except RepeatPurchase as exc:
        return _ask_to_repeat(request, exc, page=page, cart_fields=fields)
    except OrderAlreadyPaid as exc:
        return _already_paid(request, exc.order)
    except (CheckoutRefused, OutOfStock) as exc:
        return _refuse_checkout(request, exc, page=page)

    urls = CheckoutUrls(
        success_url=absolute_url(reverse("checkout_success"), request=request)
        + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url_base=absolute_url(reverse("checkout_cancel"), request=request),
        origin=request_origin(request),
    )
    try:
        session = checkout_session_open(order=order, urls=urls)
    except OrderAlreadyPaid as exc:
        # Paid at the gateway a moment ago, before its webhook arrived.
        return _already_paid(request, exc.order)
    except CheckoutRefused as exc:
        return _refuse_checkout(request, exc, page=page)
    except PaymentError as exc:
        return _refuse_checkout(request, exc, page=page, order=order, token=cart.checkout_token)

    shopper_session_rekey(request, shopper=shopper, checkout_token=cart.checkout_token)
    if wants_json(request):
        return JsonResponse({"checkout_url": session.url, "order": order.reference})
    response = HttpResponse(status=303)
    response["Location"] = session.url
    return response


def _prices_changed(request: HttpRequest, exc: PricesChanged, *, page: ShopPage) -> HttpResponse:
    """Nothing ordered: the page again with today's prices and what changed (409)."""
    if wants_json(request):
        return JsonResponse(
            {
                "error": exc.message,
                "prices": {str(c.product.pk): c.product.unit_amount for c in exc.changes},
            },
            status=409,
        )
    return _refuse(request, exc.message, status=409, page=page)


def _repeat_question(exc: RepeatPurchase) -> str:
    ago = "1 minute" if exc.minutes_ago == 1 else f"{exc.minutes_ago} minutes"
    return f"You bought these {ago} ago (order {exc.order.reference}). Buy them again?"


def _ask_to_repeat(
    request: HttpRequest, exc: RepeatPurchase, *, page: ShopPage, cart_fields: dict
) -> HttpResponse:
    """Nothing ordered: ask whether to buy again the cart paid for minutes ago (409).

    The question's button posts the same cart (and token) with the confirmation field.
    """
    if wants_json(request):
        return JsonResponse(
            {
                "error": _repeat_question(exc),
                "repeat_of": exc.order.reference,
                "confirm_with": {REPEAT_CONFIRMED_FIELD: True},
            },
            status=409,
        )
    return page.render_shop(
        request,
        status=409,
        chosen_quantities=_typed_quantities(request),
        repeat_question=_repeat_question(exc),
        repeat_fields=sorted(
            (name, value) for name, value in cart_fields.items() if name != REPEAT_CONFIRMED_FIELD
        ),
        repeat_checkout_token=request.POST.get("checkout_token", ""),
        repeat_confirm_field=REPEAT_CONFIRMED_FIELD,
    )


def _already_paid(request: HttpRequest, order: Order) -> HttpResponse:
    messages.info(request, f"Order {order.reference}: this order is already paid.")
    if wants_json(request):
        return JsonResponse({"error": "This order is already paid."}, status=409)
    return redirect(_shop_url(), permanent=False)


def _owned_orders(request: HttpRequest) -> OrderQuerySet:
    return Order.objects.owned_by(shopper_from_request(request))


@require_GET
def checkout_success(request: HttpRequest) -> HttpResponse:
    """The shopper is back from paying. Ask the gateway (never the query string) and settle."""
    session_id = request.GET.get("session_id", "")
    order = None
    if gateway_class().is_session_id(session_id):
        order = _owned_orders(request).filter(payment_session_id=session_id).first()
    if order is None:
        messages.warning(request, NOT_FOUND_MESSAGE)
        return redirect(_shop_url())
    try:
        session = get_gateway().retrieve_session(session_id)
    except SessionNotFound:
        messages.warning(request, NOT_FOUND_MESSAGE)
        return redirect(_shop_url())
    except PaymentError as exc:
        logger.warning("order %s: could not confirm on return: %s", order.reference, exc)
        return _awaiting_confirmation(request, order, "Refresh this page in a moment.")
    order = fulfilment.order_fulfil(session=session, source=Source.success_page()) or order
    order.refresh_from_db(fields=["status", "payment_declined_at", "decline_reason"])
    if order.is_declined:
        messages.warning(request, _declined_message(order))
        return _back_to_shop_with_order(request, order)
    if order.status != Order.Status.PAID:
        return _awaiting_confirmation(request, order, "It will show as paid here once it is.")
    messages.success(request, f"Thank you! Order {order.reference} is paid.")
    return _back_to_shop_with_order(request, order)


def _declined_message(order: Order) -> str:
    return f"Order {order.reference}: payment declined. {order.decline_reason}".strip()


def _awaiting_confirmation(request: HttpRequest, order: Order, hint: str) -> HttpResponse:
    """Back from paying, but not confirmed yet: list the order as awaiting confirmation."""
    fulfilment.order_mark_returned(order=order, source=Source.success_page())
    messages.info(
        request, f"Order {order.reference}: we are waiting for the payment to be confirmed. {hint}"
    )
    return _back_to_shop_with_order(request, order)


def _back_to_shop_with_order(request: HttpRequest, order: Order) -> HttpResponse:
    """To the shop page, with My orders (this order first) right under the message."""
    request.session[ORDERS_FIRST_SESSION_KEY] = order.reference
    return redirect(_shop_url())


@require_GET
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    """The shopper left the payment page. Close the session and the order; never undo a payment."""
    order = _owned_orders(request).by_reference(request.GET.get("order", "")).first()
    if order is not None and order.status == Order.Status.PENDING:
        _close_checkout(order)
        order.refresh_from_db(fields=["status"])
    if order is not None and order.status == Order.Status.PAID:
        messages.success(request, f"Order {order.reference} is paid after all.")
        return _back_to_shop_with_order(request, order)
    elif order is not None and order.is_declined:
        messages.warning(request, _declined_message(order))
        return _back_to_shop_with_order(request, order)
    else:
        messages.info(request, "Checkout canceled — you were not charged.")
    return redirect(_shop_url())


def _close_checkout(order: Order) -> None:
    source = Source.cancel_page()
    if order.payment_session_id:
        try:
            session = get_gateway().expire_session(order.payment_session_id)
        except PaymentError as exc:
            # The session will expire on its own; a payment completing meanwhile still wins.
            logger.warning("order %s: could not expire session: %s", order.reference, exc)
        else:
            if session.is_paid:
                fulfilment.order_fulfil(session=session, source=source)
                return
    fulfilment.order_cancel(order=order, source=source)
