"""The "Editors" group: products, images, the shop page's content and viewing orders, no more.

Wagtail's own migrations create an "Editors" group that may add and edit (but not publish)
any page, so edits wait for a moderator's approval, and may upload documents, which are
served publicly. ``editors_group_ensure`` replaces all of that with the list below.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    GroupSitePermission,
    Page,
)

EDITORS_GROUP = "Editors"

# (app label, codename): admin access, the product, shipping-rate and promotion-code
# snippets (drafts, publishing, preview come with change/publish), and read-only orders.
EDITOR_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("shop", "add_product"),
    ("shop", "change_product"),
    ("shop", "publish_product"),
    ("shop", "add_shippingrate"),
    ("shop", "change_shippingrate"),
    ("shop", "publish_shippingrate"),
    # Promotion codes are merchandising, like prices: editors run the sales.
    ("shop", "add_promotioncode"),
    ("shop", "change_promotioncode"),
    ("shop", "publish_promotioncode"),
    ("shop", "view_order"),
]
# Wagtail checks images against collections, not the group's model permissions: these
# apply to the root collection, so to every image.
EDITOR_IMAGE_PERMISSIONS = [
    ("wagtailimages", "add_image"),
    ("wagtailimages", "change_image"),
    ("wagtailimages", "choose_image"),
]
# On the shop page only: edit its content and publish it directly, no moderation detour.
EDITOR_PAGE_PERMISSIONS = [
    ("wagtailcore", "change_page"),
    ("wagtailcore", "publish_page"),
]


def permissions_of(pairs: list[tuple[str, str]]) -> list[Permission]:
    return [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in pairs
    ]


def _ensure_exactly(model, *, group: Group, permissions: list[Permission], **target) -> None:
    """Leave ``group`` with exactly ``permissions`` on ``target`` through ``model``, no other."""
    model.objects.filter(group=group).exclude(permission__in=permissions, **target).delete()
    for permission in permissions:
        model.objects.get_or_create(group=group, permission=permission, **target)


@transaction.atomic
def editors_group_ensure(*, shop_page: Page) -> tuple[Group, bool]:
    """Create the group or bring its permissions back to exactly the lists above.

    Safe to run again; it also repairs a group that Wagtail's defaults or an earlier seed
    left with more (pages elsewhere, documents, collections, site settings).
    """
    group, created = Group.objects.get_or_create(name=EDITORS_GROUP)
    group.permissions.set(permissions_of(EDITOR_PERMISSIONS))
    _ensure_exactly(
        GroupPagePermission,
        group=group,
        permissions=permissions_of(EDITOR_PAGE_PERMISSIONS),
        page=shop_page,
    )
    _ensure_exactly(
        GroupCollectionPermission,
        group=group,
        permissions=permissions_of(EDITOR_IMAGE_PERMISSIONS),
        collection=Collection.get_first_root_node(),
    )
    GroupSitePermission.objects.filter(group=group).delete()
    return group, created
