"""Two real servers, one database: shoppers racing for the last units never hold more than
the stock, and units a session gives back can be bought again.

Fifty guests, each with their own browser, press Buy at one moment across both servers for
a product with three units left. The counts come from the shared database.
"""

import pytest

from tests.reliability.cluster import RemoteShopper, ShopCluster, deliver, signed_event
from tests.support.servers import AppServer
from tests.support.threads import together

pytestmark = pytest.mark.postgres

SHOPPERS = 50
LAST_UNITS = 3


def product_levels(cluster: ShopCluster, product_id: int) -> tuple[int, int]:
    """(held, sold) of a product, as shop.stock counts them, straight from the database."""
    held, sold = cluster.database.query(
        "SELECT"
        " coalesce(sum(held_quantity) FILTER (WHERE hold_released_at IS NULL"
        "   AND sold_at IS NULL AND held_until > now()), 0),"
        " coalesce(sum(held_quantity) FILTER (WHERE sold_at IS NOT NULL), 0)"
        " FROM shop_orderline WHERE product_id = %s",
        (product_id,),
    )[0]
    return held, sold


def buy_one(shopper: RemoteShopper, server: AppServer, form) -> object:
    """Press Buy for one unit of the last product on the page (and none of the others)."""
    field = form.quantity_fields[-1]
    data = {"csrfmiddlewaretoken": form.csrf_token, "checkout_token": form.checkout_token}
    return shopper.buy(server, {**data, field: "1"})


def session_of(response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return response.headers["Location"].rsplit("/", 1)[-1]


def pay(cluster: ShopCluster, session_id: str, server: AppServer) -> None:
    paid = cluster.fake.complete_session(session_id)
    assert deliver(server, signed_event("checkout.session.completed", paid)).status_code == 200


def test_50_shoppers_racing_for_the_last_3_units_hold_exactly_3(cluster: ShopCluster) -> None:
    servers = cluster.servers
    shoppers = [RemoteShopper() for _ in range(SHOPPERS)]
    forms = [shopper.open_shop(servers[i % 2]) for i, shopper in enumerate(shoppers)]
    product_id = int(forms[0].quantity_fields[-1].removeprefix("qty_"))
    cluster.database.query(
        "UPDATE shop_product SET stock = %s WHERE id = %s RETURNING id", (LAST_UNITS, product_id)
    )
    try:
        responses = together(SHOPPERS, lambda i: buy_one(shoppers[i], servers[i % 2], forms[i]))

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [303] * LAST_UNITS + [409] * (SHOPPERS - LAST_UNITS), statuses
        assert all("is sold out" in r.text for r in responses if r.status_code == 409)
        assert product_levels(cluster, product_id) == (LAST_UNITS, 0)
        winners = [session_of(r) for r in responses if r.status_code == 303]

        for i, session_id in enumerate(winners):
            pay(cluster, session_id, servers[i % 2])

        assert product_levels(cluster, product_id) == (0, LAST_UNITS)
        late = RemoteShopper()
        assert buy_one(late, servers[0], late.open_shop(servers[0])).status_code == 409

        # One more unit comes in; a shopper takes it and lets the session expire.
        cluster.database.query(
            "UPDATE shop_product SET stock = %s WHERE id = %s RETURNING id",
            (LAST_UNITS + 1, product_id),
        )
        first, second = RemoteShopper(), RemoteShopper()
        held = session_of(buy_one(first, servers[0], first.open_shop(servers[0])))
        assert buy_one(second, servers[1], second.open_shop(servers[1])).status_code == 409
        expired = cluster.fake.expire(held)
        assert (
            deliver(servers[1], signed_event("checkout.session.expired", expired)).status_code
            == 200
        )
        assert product_levels(cluster, product_id) == (0, LAST_UNITS)

        bought = session_of(buy_one(second, servers[1], second.open_shop(servers[1])))
        pay(cluster, bought, servers[0])
        assert product_levels(cluster, product_id) == (0, LAST_UNITS + 1)
    finally:
        cluster.database.query(
            "UPDATE shop_product SET stock = NULL WHERE id = %s RETURNING id", (product_id,)
        )
