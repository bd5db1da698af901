from django.urls import path

from shop.checkout import local_page, views, webhooks
from shop.payments import WEBHOOK_ROUTE, WEBHOOK_URL_NAME

urlpatterns = [
    path("checkout/", views.checkout_start, name="checkout_start"),
    path("checkout/promotion/", views.promotion_apply, name="promotion_apply"),
    path("checkout/success/", views.checkout_success, name="checkout_success"),
    path("checkout/cancel/", views.checkout_cancel, name="checkout_cancel"),
    path(
        "checkout/local/<str:session_id>/",
        local_page.local_checkout_page,
        name="local_checkout_page",
    ),
    path(WEBHOOK_ROUTE, webhooks.payment_webhook, name=WEBHOOK_URL_NAME),
]
