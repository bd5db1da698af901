"""The site's URLs plus the bench ceiling; ROOT_URLCONF of ``site_config.settings.bench`` only."""

from django.urls import path

from bench.ceiling import ceiling
from site_config.urls import urlpatterns as site_urlpatterns

# First: the site's list ends with Wagtail's catch-all page route.
urlpatterns = [path("bench/ceiling/", ceiling, name="bench_ceiling"), *site_urlpatterns]
