"""The shop sells in one currency (SHOP_CURRENCY); the product form no longer offers another.

Existing rows are kept. A currency code that is the shop's own written differently
(``USD``, `` usd``) is normalised; a product priced in another currency keeps its price
and currency and is simply not for sale until an editor re-prices it, because changing
only the code would silently re-price it (€12.00 is not $12.00).
"""

from django.conf import settings
from django.db import migrations, models

import shop.models.products


def normalise_shop_currency(apps, schema_editor):
    Product = apps.get_model("shop", "Product")
    shop_currency = settings.SHOP_CURRENCY
    for product in Product.objects.exclude(currency=shop_currency).only("pk", "currency"):
        if product.currency.strip().lower() == shop_currency:
            Product.objects.filter(pk=product.pk).update(currency=shop_currency)


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="currency",
            field=models.CharField(
                choices=[
                    ("usd", "USD"),
                    ("eur", "EUR"),
                    ("gbp", "GBP"),
                    ("cad", "CAD"),
                    ("aud", "AUD"),
                    ("jpy", "JPY"),
                ],
                default=shop.models.products.default_currency,
                editable=False,
                max_length=3,
            ),
        ),
        migrations.RunPython(normalise_shop_currency, migrations.RunPython.noop),
    ]
