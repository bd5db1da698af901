"""Who may change the tax settings: Settings → Store settings is an administrator's page.
No staff group (Editors, Fulfilment, Managers) holds the store settings permission, so
none of them can turn tax on or change the rate; a superuser can."""

import pytest
from django.urls import reverse
from wagtail.models import Site

from home.models import StoreSettings

pytestmark = pytest.mark.django_db


def settings_url() -> str:
    site = Site.objects.get(is_default_site=True)
    return reverse("wagtailsettings:edit", args=["home", "storesettings", site.pk])


def test_an_administrator_turns_tax_on_with_its_behaviour_and_rate(admin_client):
    response = admin_client.post(
        settings_url(),
        {
            "store_name": "Storefront",
            "low_stock_threshold": "5",
            "ship_to_countries": ["US"],
            "automatic_tax": "on",
            "tax_behavior": "inclusive",
            "test_tax_rate": "7.5",
        },
    )

    assert response.status_code == 302
    stored = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    assert (stored.automatic_tax, stored.tax_behavior_in_use, str(stored.test_tax_rate)) == (
        True,
        "inclusive",
        "7.50",
    )


def test_no_staff_group_holds_the_store_settings_permission():
    from django.contrib.auth.models import Group

    from shop.services.editors import EDITOR_PERMISSIONS
    from shop.services.staff import STAFF_GROUPS, staff_groups_ensure

    staff_groups_ensure()

    held = {pair for pairs in (*STAFF_GROUPS.values(), EDITOR_PERMISSIONS) for pair in pairs}
    assert ("home", "change_storesettings") not in held
    for group in Group.objects.all():
        assert not group.permissions.filter(codename="change_storesettings").exists()
