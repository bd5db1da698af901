"""The provider's invoices for paid orders (Settings → Store settings, "Hosted invoices").

Checkout asks for one when the order was placed with the setting on; the completed session
names it (``Order.invoice_id``, stored when paid) and its ``invoice.finalized`` /
``invoice.paid`` events say where the shopper can see it. Events come in any order: one
arriving before the order is paid stays recorded as a ``PaymentEvent`` and is applied by
:func:`invoices_attach` once it is.
"""

import logging

from django.db import transaction
from django.db.models import QuerySet

from shop.models import Order, OrderEvent, PaymentEvent, Source
from shop.payments.events import EventKind, InvoiceReady

logger = logging.getLogger(__name__)


def invoice_record(*, event: InvoiceReady, source: Source) -> Order | None:
    """Store the invoice's links on the paid order it belongs to; None when no order has it
    yet (the event stays recorded for :func:`invoices_attach`)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(invoice_id=event.invoice_id).first()
        if order is None:
            logger.info(
                "invoice %s belongs to no paid order yet source=%s", event.invoice_id, source
            )
            return None
        _links_store(order, hosted_url=event.hosted_url, pdf_url=event.pdf_url, source=source)
        return order


def _links_store(order: Order, *, hosted_url: str, pdf_url: str, source: Source) -> None:
    """On a locked order: keep the links an event gives (an empty one keeps the one known),
    and say so on the timeline the first time there is one."""
    hosted = hosted_url or order.invoice_hosted_url
    pdf = pdf_url or order.invoice_pdf_url
    if (hosted, pdf) == (order.invoice_hosted_url, order.invoice_pdf_url):
        return
    first = not (order.invoice_hosted_url or order.invoice_pdf_url)
    order.invoice_hosted_url, order.invoice_pdf_url = hosted, pdf
    order.save(update_fields=["invoice_hosted_url", "invoice_pdf_url", "updated_at"])
    if first:
        OrderEvent.objects.record(
            order, OrderEvent.Kind.INVOICE_READY, source, message=f"Invoice {order.invoice_id}"
        )
    logger.info(
        "order %s invoice %s links stored source=%s", order.reference, order.invoice_id, source
    )


def invoice_events_waiting(invoice_id) -> QuerySet[PaymentEvent]:
    """Invoice events about ``invoice_id`` (a value, or an expression naming it) that came
    before a paid order named the invoice."""
    return PaymentEvent.objects.filter(
        kind=EventKind.INVOICE_READY, order__isnull=True, invoice_id=invoice_id
    )


def invoices_attach(order: Order, *, source: Source) -> None:
    """On a locked order just paid: invoice events that came before its payment apply now."""
    if not order.invoice_id:
        return
    early = invoice_events_waiting(order.invoice_id).order_by("received_at", "pk")
    for record in early:
        _links_store(
            order,
            hosted_url=record.invoice_hosted_url,
            pdf_url=record.invoice_pdf_url,
            source=source,
        )
        record.order = order
        record.save(update_fields=["order"])
