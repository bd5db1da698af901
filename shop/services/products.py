"""Writes to products: created and published through revisions, as the admin does."""

import io
import logging

from django.core.files.images import ImageFile
from django.db import transaction
from wagtail.images import get_image_model

from shop.models import Product

logger = logging.getLogger(__name__)


def product_image_create(*, title: str, image_bytes: bytes, filename: str):
    """Store an image in the Wagtail image library."""
    image_model = get_image_model()
    image = image_model(title=title)
    image.file = ImageFile(io.BytesIO(image_bytes), name=filename)
    image.save()
    return image


def snippet_create_revised(instance, *, publish: bool):
    """Save a new draft-state snippet with a first revision, published unless ``publish`` is
    False: what the admin's Publish (or Save draft) does. The caller holds a transaction."""
    instance.live = False
    instance.full_clean()
    instance.save()
    revision = instance.save_revision()
    if publish:
        revision.publish()
        instance.refresh_from_db()
    return instance


@transaction.atomic
def product_create(
    *,
    name: str,
    slug: str,
    description: str,
    unit_amount: int,
    currency: str,
    image=None,
    sort_order: int = 0,
    publish: bool = True,
) -> Product:
    """Create a product with a first revision, published unless ``publish`` is False."""
    product = Product(
        name=name,
        slug=slug,
        description=description,
        unit_amount=unit_amount,
        currency=currency,
        image=image,
        sort_order=sort_order,
    )
    snippet_create_revised(product, publish=publish)
    logger.info("product %s created (live=%s)", product.slug, product.live)
    return product
