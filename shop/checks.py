"""System checks: a misconfigured payment gateway is reported by `manage.py check`."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from shop.payments import GATEWAYS, missing_settings


@register()
def payment_gateway_check(app_configs, **kwargs):
    problems = []
    if settings.PAYMENT_GATEWAY not in GATEWAYS:
        problems.append(Error(f"PAYMENT_GATEWAY must be one of {GATEWAYS}.", id="shop.E001"))
    for missing in missing_settings(lambda name: getattr(settings, name, None)):
        if missing.blocks_payments:
            problems.append(Error(missing.message, id="shop.E002"))
        else:
            problems.append(Warning(missing.consequence, hint=missing.hint, id="shop.W001"))
    return problems
