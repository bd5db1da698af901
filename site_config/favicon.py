"""/favicon.ico: browsers ask for it at the site root whatever the page links.

The icon is our own: ``static/favicon.svg`` (linked from base.html for browsers that take
SVG) and ``static/favicon.ico``, the same bag drawn with Pillow at 16, 32 and 48 pixels.
"""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

ICON = "favicon.ico"


@require_GET
@cache_control(public=True, max_age=60 * 60 * 24)
def favicon(request):
    path = finders.find(ICON) or (settings.STATIC_ROOT / ICON)
    try:
        icon = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError as exc:
        raise Http404("No favicon.") from exc
    return FileResponse(icon, content_type="image/x-icon")
