"""System checks: a misconfigured payment gateway is reported by `manage.py check`."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from shop.payments import GATEWAYS


@register()
def payment_gateway_check(app_configs, **kwargs):
    problems = []
    if settings.PAYMENT_GATEWAY not in GATEWAYS:
        problems.append(Error(f"PAYMENT_GATEWAY must be one of {GATEWAYS}.", id="shop.E001"))
    if settings.PAYMENT_GATEWAY == "stripe":
        if not settings.STRIPE_SECRET_KEY:
            problems.append(
                Error("PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.", id="shop.E002")
            )
        if not settings.STRIPE_WEBHOOK_SECRET:
            problems.append(
                Warning(
                    "STRIPE_WEBHOOK_SECRET is not set: every webhook will be refused.",
                    hint="Run `stripe listen` and copy its whsec_... secret.",
                    id="shop.W001",
                )
            )
    return problems
