"""Editors manage shipping rates in the Wagtail admin (Shop → Shipping rates), typed as money,
with drafts and publishing: only a published, active rate is offered at checkout."""

import pytest
from django.urls import reverse

from shop.models import ShippingRate
from shop.shipping import shipping_offer
from tests.support.shopper import soup_of, text_of

pytestmark = pytest.mark.django_db

ADD_URL = "wagtailsnippets_shop_shippingrate:add"
LIST_URL = "wagtailsnippets_shop_shippingrate:list"


def _rate_form(**overrides) -> dict:
    data = {
        "name": "Courier",
        "amount": "7,50",
        "countries": ["US", "CA"],
        "min_days": "2",
        "max_days": "3",
        "free_from": "$120.00",
        "active": "on",
        "sort_order": "30",
        "action-publish": "publish",
    }
    data.update(overrides)
    return data


def offered_names(subtotal: int = 1800) -> list[str]:
    return [option.name for option in shipping_offer(subtotal=subtotal).options]


def test_editor_adds_and_publishes_a_rate_the_checkout_then_offers(editor_client, shop):
    response = editor_client.post(reverse(ADD_URL), _rate_form())

    assert response.status_code == 302, text_of(response)
    rate = ShippingRate.objects.get(name="Courier")
    assert (rate.amount, rate.free_from, rate.min_days, rate.max_days) == (750, 12000, 2, 3)
    assert [c.code for c in rate.countries] == ["CA", "US"]
    assert rate.live
    assert offered_names() == ["Standard", "Express", "Courier"]
    courier = shipping_offer(subtotal=12000).options[2]
    assert (courier.amount, courier.countries) == (0, ("CA", "US"))


def test_a_draft_rate_is_not_offered_until_published(editor_client, shop):
    data = _rate_form()
    del data["action-publish"]

    assert editor_client.post(reverse(ADD_URL), data).status_code == 302

    assert not ShippingRate.objects.get(name="Courier").live
    assert "Courier" not in offered_names()


def test_an_inactive_rate_is_not_offered(editor_client, shop):
    data = _rate_form()
    del data["active"]

    assert editor_client.post(reverse(ADD_URL), data).status_code == 302

    assert "Courier" not in offered_names()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"min_days": "5", "max_days": "2"}, "max_days", "cannot be shorter than the shortest"),
        ({"amount": "1,250"}, "amount", "could mean thousands or a decimal comma"),
        ({"amount": "-1"}, "amount", "cannot be negative"),
        ({"amount": "cheap"}, "amount", "Enter an amount"),
        ({"countries": ["XX"]}, "countries", "not one of the available choices"),
        ({"countries": []}, "countries", "required"),
    ],
)
def test_bad_rates_are_refused_with_a_clear_form_error(admin_client, changes, field, message):
    response = admin_client.post(reverse(ADD_URL), _rate_form(**changes))

    assert response.status_code == 200
    errors = soup_of(response).select(
        f"[data-field-wrapper] #panel-child-{field}-errors, .error-message"
    )
    assert message in text_of(response), [e.get_text() for e in errors]
    assert not ShippingRate.objects.filter(name="Courier").exists()


def test_rate_list_shows_price_countries_estimate_free_from_and_live(admin_client):
    body = text_of(admin_client.get(reverse(LIST_URL)))

    assert "Standard" in body and "$4.95" in body and "3–5 business days" in body
    assert "$50.00" in body and "Express" in body and "$14.95" in body
    assert "US" in body


def test_shop_page_says_shipping_is_chosen_at_checkout(client, shop):
    text = text_of(client.get("/"))

    assert "Shipping from $4.95, free over $50.00: choose your delivery at checkout." in text


def test_dashboard_tells_editors_when_no_rate_can_ship(editor_client, shop):
    assert soup_of(editor_client.get("/admin/")).select_one("[data-shipping-warning]") is None

    ShippingRate.objects.update(live=False)

    warning = soup_of(editor_client.get("/admin/")).select_one("[data-shipping-warning]")
    assert warning is not None and "The shop cannot take orders" in warning.get_text()
    assert warning.find("a")["href"] == reverse(LIST_URL)
