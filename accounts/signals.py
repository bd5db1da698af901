"""Log-in side effects: move a guest's orders to the account.

(Failed log-ins are counted by accounts.throttle's backend, before the password check.)
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shop.services.orders import order_claim_guest_orders
from shop.shoppers import GUEST_TOKEN_SESSION_KEY


@receiver(user_logged_in)
def claim_guest_orders(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    # Django keeps session data across the log-in's key rotation, so the token is still here.
    # A token with orders is only ever in a session whose key this browser got from its own
    # Buy (shop.shoppers.shopper_session_rekey), never in one planted on it.
    token = request.session.pop(GUEST_TOKEN_SESSION_KEY, None)
    if token:
        order_claim_guest_orders(user=user, guest_token=token)
