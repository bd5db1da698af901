"""What site_config/urls.py serves, and what it leaves to the reverse proxy."""

from pathlib import Path

import pytest
from django.conf import settings


@pytest.mark.django_db
def test_media_is_left_to_the_proxy_when_debug_is_off(client):
    assert not settings.DEBUG
    image = Path(settings.MEDIA_ROOT) / "original_images" / "proxy-only.txt"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_text("served by nginx, not by a gunicorn worker")
    try:
        response = client.get(f"{settings.MEDIA_URL}original_images/proxy-only.txt")
    finally:
        image.unlink()

    assert response.status_code == 404
