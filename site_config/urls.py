from django.conf import settings
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from search import views as search_views
from shop import page_serving
from site_config.favicon import favicon
from site_config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("search/", search_views.search, name="search"),
    path("accounts/", include("accounts.urls")),
    path("", include("shop.checkout.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    # In production the reverse proxy serves /media/ (deploy/nginx.conf), or a cloud storage
    # backend serves its own URLs: a gunicorn worker never streams an upload's bytes.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving last: it catches every other path. The shop page's own paths
# first, served from what each process keeps of the site (shop/page_serving.py).
urlpatterns += [
    re_path(page_serving.SHOP_PATH_PATTERN, page_serving.serve),
    path("", include(wagtail_urls)),
]
