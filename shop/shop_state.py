"""One shared version of everything the shop page shows to everyone, bumped when it changes.

The shop page's constant parts (which site and page answer, the store settings, the shipping
rates, the product cards and what they say of stock) are held by each process
(``shop.page_serving``, ``shop.page_snapshot``). Each request asks the shared cache for this
version, one key; when an editor publishes, unpublishes, moves or reorders, changes the store
settings, a site or an image, or a sale or a hold changes what a card says is left, the change
writes a new version once its transaction commits, and every process on every server looks
again on its next request.

What changes with the clock alone (a product's schedule, a hold lapsing with its payment
session) cannot bump anything: the snapshot that shows it says itself when it must be redrawn.
"""

import secrets
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from site_config.after_response import run_after_response

STATE_KEY = "shop:state"
# The version outlives any snapshot built on it; when it is evicted, one is made anew and
# every process redraws once.
STATE_SECONDS = 7 * 24 * 3600


def shop_state() -> str:
    """The current version: one cache read (a query with the database cache, none with Redis)."""
    version = cache.get(STATE_KEY)
    if version is None:
        cache.add(STATE_KEY, secrets.token_hex(8), STATE_SECONDS)
        version = cache.get(STATE_KEY)
    return version or ""


def shop_state_changed() -> None:
    """Something everyone sees changed: a new version once the current transaction commits,
    so no process rebuilds from rows it cannot see yet, and after the response has gone out
    (at once outside a request), so the change costs its request nothing. A worker that dies
    in between leaves the old version: the snapshot's own lifetime bounds how long."""
    transaction.on_commit(lambda: run_after_response(_bump))


def _bump() -> None:
    cache.set(STATE_KEY, secrets.token_hex(8), STATE_SECONDS)


def _changed(sender, **kwargs) -> None:
    shop_state_changed()


def _watched_models() -> tuple[type, ...]:
    from wagtail.images import get_image_model
    from wagtail.models import Page, PageViewRestriction, Site

    from home.models import StoreSettings
    from shop.models import Product, ShippingRate

    return (
        Page,
        Site,
        PageViewRestriction,
        StoreSettings,
        Product,
        ShippingRate,
        get_image_model(),
    )


def connect_signals() -> None:
    """Every save and delete of what the page shows, whoever makes it (the admin, a command,
    ``publish_scheduled``), and every page move, bumps the version."""
    from wagtail.signals import post_page_move

    watched = _watched_models()

    # Django signals a save with the concrete class (ShopPage, not Page): match by subclass.
    def changed(sender, **kwargs) -> None:
        if issubclass(sender, watched):
            shop_state_changed()

    for signal in (post_save, post_delete):
        signal.connect(changed, weak=False, dispatch_uid=f"shop_state_{signal!r}")
    post_page_move.connect(_changed, weak=False, dispatch_uid="shop_state_page_move")


# Per process: key -> (version, expires at (monotonic), value).
_memo: dict = {}
_MAX_MEMO = 256


def remembered(request, key, build):
    """``build()``'s value, kept by this process while the request's shop version holds.

    ``build`` returns (value, seconds it may be kept, or None for as long as the version
    holds). Without a version on the request (a page Wagtail served itself, a preview) it
    is built every time.
    """
    version = getattr(request, "shop_state", None)
    if version is None:
        return build()[0]
    now = time.monotonic()
    held = _memo.get(key)
    if held is not None and held[0] == version and held[1] > now:
        return held[2]
    value, seconds = build()
    if len(_memo) >= _MAX_MEMO:
        _memo.clear()
    _memo[key] = (version, now + seconds if seconds is not None else float("inf"), value)
    return value
