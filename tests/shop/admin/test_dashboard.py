"""The admin dashboard as an editor sees it: the store's name, avatars, the orders panel."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import shop_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, db):
    shop_build()
    user = get_user_model().objects.create_user("ed", "ed@example.com", "pw")
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


def _dashboard(client) -> BeautifulSoup:
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def test_avatars_are_served_by_the_shop_not_gravatar(editor_client):
    page = _dashboard(editor_client)

    avatars = page.select("img.avatar, .avatar img")
    assert avatars
    for avatar in avatars:
        # Anything off-site is blocked by our Content-Security-Policy: a broken image.
        assert avatar["src"].startswith("/static/"), avatar["src"]
