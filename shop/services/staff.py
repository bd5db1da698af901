"""The shop's staff groups beside Editors: who may act on orders, one permission per action.

Fulfilment ships orders; Managers refund, cancel unpaid orders, resend e-mails and keep
internal notes. Editors (shop/services/editors.py) hold none of these. ``seed_shop`` calls
``staff_groups_ensure``, which brings each group to exactly its list, however it was left.
"""

from django.contrib.auth.models import Group
from django.db import transaction

from shop.services.editors import permissions_of

FULFILMENT_GROUP = "Fulfilment"
MANAGERS_GROUP = "Managers"

_ADMIN_AND_ORDERS = [("wagtailadmin", "access_admin"), ("shop", "view_order")]
STAFF_GROUPS: dict[str, list[tuple[str, str]]] = {
    FULFILMENT_GROUP: [*_ADMIN_AND_ORDERS, ("shop", "ship_order"), ("shop", "note_order")],
    MANAGERS_GROUP: [
        *_ADMIN_AND_ORDERS,
        ("shop", "refund_order"),
        ("shop", "cancel_order"),
        ("shop", "resend_order_email"),
        ("shop", "note_order"),
    ],
}


@transaction.atomic
def staff_groups_ensure() -> dict[str, bool]:
    """Create each group or bring it back to exactly its permissions; name → created."""
    created_by_name = {}
    for name, pairs in STAFF_GROUPS.items():
        group, created = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions_of(pairs))
        created_by_name[name] = created
    return created_by_name
