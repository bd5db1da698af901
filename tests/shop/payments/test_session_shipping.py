"""Reading a Checkout Session's shipping from where API 2026-10-28 puts it."""

import pytest

from shop.payments import events
from shop.payments.base import MalformedEvent, ShippingAddress
from shop.payments.stripe_json import event_from_payload, session_from_dict

ADDRESS = {
    "line1": "1 Rue de Rivoli",
    "line2": None,
    "city": "Paris",
    "postal_code": "75001",
    "state": None,
    "country": "fr",
}


def session(**fields) -> dict:
    return {
        "id": "cs_test_shipping",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_subtotal": 1800,
        "amount_total": 3295,
        "currency": "usd",
        "shipping_options": [
            {"shipping_amount": 495, "shipping_rate": "shr_standard"},
            {"shipping_amount": 1495, "shipping_rate": "shr_express"},
        ],
        "shipping_cost": {
            "amount_subtotal": 1495,
            "amount_tax": 0,
            "amount_total": 1495,
            "shipping_rate": "shr_express",
        },
        "total_details": {"amount_discount": 0, "amount_shipping": 1495, "amount_tax": 0},
        "collected_information": {"shipping_details": {"name": "Marie", "address": ADDRESS}},
        "customer_details": {"email": "m@example.com", "phone": "+33 1 00 00 00 00"},
        **fields,
    }


def test_subtotal_shipping_the_chosen_option_and_the_address_are_read():
    read = session_from_dict(session())

    assert (read.amount_subtotal, read.amount_shipping, read.amount_total) == (1800, 1495, 3295)
    assert read.shipping_option_index == 1
    assert read.shipping_address == ShippingAddress(
        name="Marie",
        line1="1 Rue de Rivoli",
        line2="",
        city="Paris",
        postal_code="75001",
        region="",
        country="FR",
        phone="+33 1 00 00 00 00",
    )


def test_an_expanded_shipping_rate_and_totals_only_are_read_too():
    read = session_from_dict(
        session(shipping_cost={"shipping_rate": {"id": "shr_standard"}, "amount_total": None})
    )

    assert read.shipping_option_index == 0
    assert read.amount_shipping == 1495  # from total_details


def test_a_session_without_shipping_reads_as_none():
    bare = session()
    for key in ("shipping_options", "shipping_cost", "total_details", "collected_information"):
        del bare[key]

    read = session_from_dict(bare)

    assert (read.amount_shipping, read.shipping_option_index, read.shipping_address) == (
        None,
        None,
        None,
    )


def test_a_rate_id_not_among_the_options_chooses_none():
    read = session_from_dict(
        session(shipping_cost={"shipping_rate": "shr_other", "amount_total": 1})
    )

    assert (read.shipping_option_index, read.amount_shipping) == (None, 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"collected_information": "somewhere"},
        {"collected_information": {"shipping_details": ["x"]}},
        {"collected_information": {"shipping_details": {"name": "M"}}},
        {"collected_information": {"shipping_details": {"name": "M", "address": 3}}},
        {"shipping_cost": "free"},
        {"total_details": []},
        {"shipping_options": {"0": "x"}},
        {"shipping_options": ["shr_express"]},
        {"customer_details": "phone"},
    ],
)
def test_bad_shapes_are_malformed_and_a_webhook_of_one_is_unusable(fields):
    with pytest.raises(MalformedEvent):
        session_from_dict(session(**fields))

    read = event_from_payload(
        {
            "id": "evt_bad",
            "type": "checkout.session.completed",
            "data": {"object": session(**fields)},
        }
    )
    assert isinstance(read, events.UnusableEvent)


def test_the_tax_is_read_and_shipping_is_the_rate_before_its_tax():
    # Exclusive tax: shipping_cost.amount_total holds the rate plus its tax (1495 + 150).
    read = session_from_dict(
        session(
            amount_total=1800 + 1495 + 180 + 150,
            shipping_cost={
                "amount_subtotal": 1495,
                "amount_tax": 150,
                "amount_total": 1645,
                "shipping_rate": "shr_express",
            },
            total_details={"amount_discount": 0, "amount_shipping": 1495, "amount_tax": 330},
        )
    )

    assert (read.amount_shipping, read.amount_tax) == (1495, 330)
    assert read.shipping_option_index == 1


def test_a_session_without_total_details_reports_no_tax():
    bare = session()
    del bare["total_details"]

    assert session_from_dict(bare).amount_tax is None
