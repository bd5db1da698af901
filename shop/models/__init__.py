from shop.models.disputes import Dispute
from shop.models.guest_claims import GuestClaim
from shop.models.order_events import OrderEvent, Source
from shop.models.orders import Order, OrderLine
from shop.models.pages import ShopPage
from shop.models.payments import LocalCheckoutSession, PaymentEvent
from shop.models.products import Product
from shop.models.promotions import PromotionCode
from shop.models.refunds import Refund, RefundLine
from shop.models.shipping import ShippingRate

__all__ = [
    "Dispute",
    "GuestClaim",
    "LocalCheckoutSession",
    "Order",
    "OrderEvent",
    "OrderLine",
    "PaymentEvent",
    "Product",
    "PromotionCode",
    "Refund",
    "RefundLine",
    "ShippingRate",
    "ShopPage",
    "Source",
]
