"""Serving the shop page without asking the database what it said last time.

Wagtail's serving finds, on every request, the site for the host, its root page, the page's
specific type and its view restrictions, then the templates ask for the store settings and
the site's root paths: six queries that change only when an editor publishes, moves or
restricts a page, or edits a site or the settings. The shop page is its site's root page,
so each process keeps what those lookups found, per host, for as long as the shop's shared
version (``shop.shop_state``) stays the same: one cache read a request instead.

A host whose root is not a live, unrestricted shop page, and every other path, is served
by Wagtail as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.http.request import split_domain_port
from wagtail import hooks
from wagtail import views as wagtail_views
from wagtail.models import Site
from wagtail.wagtail_hooks import check_view_restrictions

from home.models import StoreSettings
from shop import page_snapshot
from shop.models import ShopPage
from shop.shop_state import remembered, shop_state

# The paths the shop page answers itself (its routes); any other path is Wagtail's.
SHOP_PATH_PATTERN = r"^(|orders/(?:[\w\-]+/)*)$"


@dataclass(frozen=True)
class ShopSite:
    """What a host's requests need before the shop page's own work starts."""

    site: Site | None
    page: ShopPage | None  # None: this host's root is not a live, unrestricted shop page
    store: StoreSettings | None
    root_paths: list | None


def shop_site_for_request(request) -> ShopSite | None:
    """The host's shop site, kept by this process while the shop's version stays the same,
    and set on ``request`` where Wagtail and the templates look for it; None when the host
    has no shop page for us to serve (Wagtail then serves as usual)."""
    request.shop_state = shop_state()
    # The host was checked against ALLOWED_HOSTS; the memo is bounded for a development
    # server that allows any.
    key = ("shop-site", split_domain_port(request.get_host())[0], request.get_port())
    found = remembered(request, key, lambda: (_resolve(request), None))
    if found.page is None:
        return None
    request._wagtail_site = found.site
    setattr(request, StoreSettings.get_cache_attr_name(), found.store)
    request._wagtail_cached_site_root_paths = found.root_paths
    return found


def _resolve(request) -> ShopSite:
    nothing = ShopSite(site=None, page=None, store=None, root_paths=None)
    site = Site._find_for_request(request)
    if site is None:
        return nothing
    page = site.root_page.specific
    # A restricted page is checked per request, by Wagtail; so is a page not live.
    if not isinstance(page, ShopPage) or not page.live or page.get_view_restrictions():
        return nothing
    return ShopSite(
        site=site,
        page=page,
        store=StoreSettings.for_site(site),
        root_paths=Site.get_site_root_paths(),
    )


def serve(request, path):
    """Wagtail's ``serve`` for the shop page's paths, from the process's lookups."""
    found = shop_site_for_request(request)
    if found is None:
        return wagtail_views.serve(request, path)
    components = [component for component in path.split("/") if component]
    if not components and page_snapshot.serves(request):
        response = page_snapshot.snapshot_response(request, found.page, found.page.render_shop)
        if response is not None:
            return response
    page, args, kwargs = found.page.route(request, components)
    if page is not found.page:  # the shop page has no subpages; route() raises first
        raise Http404
    for fn in hooks.get_hooks("before_serve_page"):
        result = fn(page, request, args, kwargs)
        if isinstance(result, HttpResponse):
            return result
    # Wagtail's view-restriction check is the one on_serve_page hook with nothing to do:
    # the page has none (a restricted page is served by Wagtail).
    chain = wagtail_views.serve_chain
    for fn in reversed(hooks.get_hooks("on_serve_page")):
        if fn is not check_view_restrictions:
            chain = fn(chain)
    return chain(page, request, args, kwargs)
