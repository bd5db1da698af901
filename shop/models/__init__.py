from shop.models.catalogue import Product
from shop.models.orders import Order, OrderLine
from shop.models.pages import ShopPage
from shop.models.payments import LocalCheckoutSession, PaymentEvent

__all__ = ["LocalCheckoutSession", "Order", "OrderLine", "PaymentEvent", "Product", "ShopPage"]
