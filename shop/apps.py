from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self):
        from shop import checks  # noqa: F401  (registers the system checks)
        from shop.shop_state import connect_signals

        connect_signals()
