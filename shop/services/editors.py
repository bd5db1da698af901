"""The "Editors" group: manage products and images in the Wagtail admin, view orders, no more."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

EDITORS_GROUP = "Editors"

# (app label, codename): admin access, the product snippets (drafts, publishing, preview
# come with change/publish), the image library, and read-only orders.
EDITOR_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("shop", "add_product"),
    ("shop", "change_product"),
    ("shop", "publish_product"),
    ("wagtailimages", "add_image"),
    ("wagtailimages", "change_image"),
    ("wagtailimages", "choose_image"),
    ("shop", "view_order"),
]


@transaction.atomic
def editors_group_ensure() -> tuple[Group, bool]:
    """Create the group or bring its permissions back to exactly the list above."""
    group, created = Group.objects.get_or_create(name=EDITORS_GROUP)
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in EDITOR_PERMISSIONS
    ]
    group.permissions.set(permissions)
    return group, created
