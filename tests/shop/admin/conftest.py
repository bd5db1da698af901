"""Admin clients logged in as members of the real staff groups (shop/services/staff.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from shop.services.staff import FULFILMENT_GROUP, MANAGERS_GROUP, staff_groups_ensure


def staff_client(username: str, group: str) -> Client:
    """A new test client logged in as a new user in ``group``."""
    staff_groups_ensure()
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw")
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(shop) -> Client:
    return staff_client("meg", MANAGERS_GROUP)


@pytest.fixture
def fulfilment_client(shop) -> Client:
    return staff_client("fred", FULFILMENT_GROUP)
