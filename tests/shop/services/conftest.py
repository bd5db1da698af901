"""Fixtures the service tests share."""

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def manager(shop):
    """A staff user the services are told acted (they check no permissions themselves)."""
    return get_user_model().objects.create_user("meg", "meg@example.com", "pw")
