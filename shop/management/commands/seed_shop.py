"""python manage.py seed_shop: make a fresh database into a working shop.

Idempotent: products are found by slug and never overwritten (an editor's later changes
stay), the ShopPage is created once and made the default site's root, the Editors group
is brought to exactly its permissions (also on a database whose group has Wagtail's
defaults or an earlier seed's). ``--demo-users`` (DEBUG only) adds accounts with known
passwords for trying the admin.
"""

import io

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image, ImageDraw
from wagtail.models import Page, Site

from home.models import DEFAULT_SHIP_TO_COUNTRIES, StoreSettings
from shop.models import Product, PromotionCode, ShippingRate, ShopPage
from shop.services.editors import EDITORS_GROUP, editors_group_ensure
from shop.services.products import product_create, product_image_create
from shop.services.promotion_codes import promotion_code_create
from shop.services.shipping_rates import shipping_rate_create
from shop.services.staff import FULFILMENT_GROUP, MANAGERS_GROUP, staff_groups_ensure

SEED_PRODUCTS = [
    {
        "slug": "stoneware-mug",
        "name": "Stoneware Mug",
        "description": "<p>A hand-glazed 350 ml mug that keeps coffee warm and fits the hand.</p>",
        "unit_amount": 1800,
        "colours": ((196, 120, 76), (242, 214, 186)),
    },
    {
        "slug": "canvas-tote",
        "name": "Canvas Tote",
        "description": "<p>Heavy cotton canvas with long handles and an inside pocket.</p>",
        "unit_amount": 2450,
        "colours": ((52, 96, 82), (205, 226, 214)),
    },
    {
        "slug": "dot-grid-notebook",
        "name": "Dot-Grid Notebook",
        "description": "<p>A5, 160 numbered pages of 100 gsm paper that takes fountain pens.</p>",
        "unit_amount": 1275,
        "colours": ((40, 62, 120), (214, 222, 244)),
    },
]

# (username, e-mail, password, group); no group: a superuser.
DEMO_USERS = [
    ("admin", "admin@example.com", "admin", None),
    ("editor", "editor@example.com", "editor", EDITORS_GROUP),
    ("fulfilment", "fulfilment@example.com", "fulfilment", FULFILMENT_GROUP),
    ("manager", "manager@example.com", "manager", MANAGERS_GROUP),
]


def _draw_mug(draw, dark, light):
    draw.rounded_rectangle([350, 200, 590, 470], radius=28, fill=dark)
    draw.ellipse([540, 260, 680, 410], outline=dark, width=34)
    draw.rectangle([360, 212, 580, 236], fill=light)


def _draw_tote(draw, dark, light):
    draw.arc([380, 120, 580, 330], start=180, end=360, fill=dark, width=22)
    draw.polygon([(320, 240), (640, 240), (680, 500), (280, 500)], fill=dark)
    draw.line([(330, 300), (630, 300)], fill=light, width=6)


def _draw_notebook(draw, dark, light):
    draw.rounded_rectangle([330, 150, 630, 500], radius=18, fill=dark)
    draw.rectangle([330, 150, 360, 500], fill=light)
    for x in range(400, 610, 30):
        for y in range(190, 480, 30):
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=light)


DRAWINGS = {
    "stoneware-mug": _draw_mug,
    "canvas-tote": _draw_tote,
    "dot-grid-notebook": _draw_notebook,
}


def _product_image_bytes(slug: str, dark, light) -> bytes:
    """A simple picture of the product on a soft gradient, drawn here (no downloads)."""
    width, height = 960, 630
    image = Image.new("RGB", (width, height), light)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        colour = tuple(int(light[i] * (1 - 0.25 * t) + dark[i] * 0.25 * t) for i in range(3))
        draw.line([(0, y), (width, y)], fill=colour)
    draw.ellipse([250, 470, 710, 560], fill=tuple(int(c * 0.85) for c in light))
    DRAWINGS.get(slug, _draw_notebook)(draw, dark, light)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# Prices in cents of the shop's currency; on every default ship-to country.
SEED_SHIPPING_RATES = [
    {
        "seed_key": "standard",
        "name": "Standard",
        "amount": 495,
        "min_days": 3,
        "max_days": 5,
        "free_from": 5000,
    },
    {"seed_key": "express", "name": "Express", "amount": 1495, "min_days": 1, "max_days": 2},
]


class Command(BaseCommand):
    help = (
        "Create the shop page, three products, a Standard and an Express shipping rate, the "
        "WELCOME10 promotion code and the "
        "Editors, Fulfilment and Managers groups (safe to run again)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Also create admin/admin and editor/editor accounts (refused when DEBUG is off).",
        )

    def handle(self, *args, demo_users=False, **options):
        if demo_users and not settings.DEBUG:
            raise CommandError(
                "--demo-users creates known passwords and is refused when DEBUG is off."
            )
        with transaction.atomic():
            self._seed_products()
            shop = self._seed_shop_page()
            self._seed_shipping()
            self._seed_promotions()
            _, created = editors_group_ensure(shop_page=shop)
            self._report(created, f"group {EDITORS_GROUP}")
            for name, created in staff_groups_ensure().items():
                self._report(created, f"group {name}")
            if demo_users:
                self._seed_demo_users()

    def _report(self, created: bool, what: str) -> None:
        if created:
            self.stdout.write(self.style.SUCCESS(f"created {what}"))
        else:
            self.stdout.write(f"found {what}")

    def _seed_products(self) -> None:
        for position, spec in enumerate(SEED_PRODUCTS):
            if Product.objects.filter(slug=spec["slug"]).exists():
                self._report(False, f"product {spec['slug']}")
                continue
            image = product_image_create(
                title=spec["name"],
                image_bytes=_product_image_bytes(spec["slug"], *spec["colours"]),
                filename=f"{spec['slug']}.jpg",
            )
            product_create(
                name=spec["name"],
                slug=spec["slug"],
                description=spec["description"],
                unit_amount=spec["unit_amount"],
                currency=settings.SHOP_CURRENCY,
                image=image,
                sort_order=position * 10,
            )
            self._report(True, f"product {spec['slug']}")

    def _seed_shop_page(self) -> ShopPage:
        shop = ShopPage.objects.first()
        created = shop is None
        if created:
            root = Page.get_first_root_node()
            shop = ShopPage(
                title="Small goods, made well",
                slug="shop",
                intro="<p>Three things we love to use every day. Choose how many you'd like, "
                "then pay securely by card.</p>",
            )
            root.add_child(instance=shop)
            shop.save_revision().publish()
        self._report(created, "shop page")

        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(hostname="localhost", port=80, root_page=shop, is_default_site=True)
            self._report(True, "default site")
            return shop
        if site.root_page_id != shop.pk:
            old_root = site.root_page.specific
            site.root_page = shop
            site.save()
            self.stdout.write(self.style.SUCCESS("made the shop page the default site's root"))
            # Wagtail's placeholder welcome page is of no use once the shop is the root.
            if type(old_root) is Page and old_root.get_children_count() == 0:
                old_root.delete()
                self.stdout.write("removed Wagtail's placeholder welcome page")
        else:
            self._report(False, "default site rooted at the shop page")
        return shop

    def _seed_shipping(self) -> None:
        """The default ship-to countries and a Standard and an Express rate, published.

        Found again by their seed key and left as they are: an editor's later changes (price,
        countries, unpublishing, deactivating) stay; only a deleted rate is made again.
        """
        site = Site.objects.filter(is_default_site=True).first()
        if site is not None:
            exists = StoreSettings.objects.filter(site=site).exists()
            StoreSettings.for_site(site)  # made with the default countries when missing
            self._report(not exists, "store settings")
        ship_to = list(DEFAULT_SHIP_TO_COUNTRIES)
        for position, spec in enumerate(SEED_SHIPPING_RATES):
            if ShippingRate.objects.filter(seed_key=spec["seed_key"]).exists():
                self._report(False, f"shipping rate {spec['name']}")
                continue
            shipping_rate_create(**spec, countries=ship_to, sort_order=position * 10)
            self._report(True, f"shipping rate {spec['name']}")

    def _seed_promotions(self) -> None:
        """WELCOME10, 10% off, published; found again by its seed key and then left as the
        editors made it (deactivated, changed or unpublished), made again only if deleted."""
        if PromotionCode.objects.filter(seed_key="welcome").exists():
            self._report(False, "promotion code WELCOME10")
            return
        if PromotionCode.objects.filter(code="WELCOME10").exists():
            self._report(False, "promotion code WELCOME10 (an editor's)")
            return
        promotion_code_create(code="WELCOME10", percent_off=10, seed_key="welcome")
        self._report(True, "promotion code WELCOME10")

    def _seed_demo_users(self) -> None:
        user_model = get_user_model()
        for username, email, password, group in DEMO_USERS:
            if user_model.objects.filter(username=username).exists():
                self._report(False, f"demo user {username}")
                continue
            if group is None:
                user_model.objects.create_superuser(username, email, password)
            else:
                user = user_model.objects.create_user(username, email, password)
                user.groups.add(Group.objects.get(name=group))
            self._report(True, f"demo user {username} (password {password!r})")
