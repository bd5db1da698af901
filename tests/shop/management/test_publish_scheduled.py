"""``manage.py publish_scheduled`` says what went live and what expired, as cron mails it."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.models import Product

pytestmark = pytest.mark.django_db


def _publish_scheduled(*args: str) -> str:
    out = io.StringIO()
    call_command("publish_scheduled", *args, stdout=out)
    return out.getvalue()


def _schedule_price(product: Product, unit_amount: int) -> None:
    """What an editor's "Publish" with a go-live time in the past minute leaves behind."""
    product.unit_amount = unit_amount
    revision = product.save_revision()
    revision.approved_go_live_at = timezone.now() - dt.timedelta(minutes=1)
    revision.save(update_fields=["approved_go_live_at"])


def test_names_each_product_it_publishes_and_sums_up(shop):
    notebook = Product.objects.get(slug="dot-grid-notebook")
    _schedule_price(notebook, 1400)

    output = _publish_scheduled()

    assert output.splitlines() == [
        "Published product Dot-Grid Notebook",
        "1 published, 0 unpublished.",
    ]
    notebook.refresh_from_db()
    assert (notebook.unit_amount, notebook.live) == (1400, True)


def test_names_each_product_it_unpublishes_when_it_expires(shop):
    Product.objects.filter(slug="canvas-tote").update(
        expire_at=timezone.now() - dt.timedelta(minutes=1)
    )

    output = _publish_scheduled()

    assert output.splitlines() == [
        "Unpublished product Canvas Tote (expired)",
        "0 published, 1 unpublished.",
    ]
    assert Product.objects.get(slug="canvas-tote").live is False


def test_says_so_when_nothing_was_due(shop):
    assert _publish_scheduled().splitlines() == ["0 published, 0 unpublished."]


def test_dry_run_lists_what_is_due_and_changes_nothing(shop):
    notebook = Product.objects.get(slug="dot-grid-notebook")
    _schedule_price(notebook, 1400)

    output = _publish_scheduled("--dryrun")

    assert "Dot-Grid Notebook" in output
    assert "published," not in output
    notebook.refresh_from_db()
    assert notebook.unit_amount == 1275
