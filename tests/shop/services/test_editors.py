"""The Editors group, used through the Wagtail admin as an editor would.

Editors manage products and images, edit and publish the shop page's content directly, and
view orders; documents, collections, other pages, users and settings are out of their reach.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, WorkflowState
from wagtail.test.utils.form_data import querydict_from_html, rich_text

pytestmark = pytest.mark.django_db


def _menu(client) -> str:
    return client.get(reverse("wagtailadmin_home")).content.decode()


def test_editor_edits_and_publishes_the_shop_page_without_moderation(editor_client, shop):
    edit = reverse("wagtailadmin_pages:edit", args=[shop.pk])
    page = editor_client.get(edit)
    assert page.status_code == 200
    assert 'name="action-publish"' in page.content.decode()
    data = querydict_from_html(page.content.decode(), form_id="page-edit-form")
    data["intro"] = rich_text("<p>Fresh from the workshop this week.</p>", features=["bold"])
    data["action-publish"] = "action-publish"

    response = editor_client.post(edit, data)

    assert response.status_code == 302, response.content[:3000]
    shop.refresh_from_db()
    assert "Fresh from the workshop this week." in shop.intro
    assert shop.live and not shop.has_unpublished_changes
    assert not WorkflowState.objects.filter(status=WorkflowState.STATUS_IN_PROGRESS).exists()
    assert "Fresh from the workshop this week." in editor_client.get("/").content.decode()


def test_editor_cannot_add_or_delete_pages(editor_client, shop):
    root = Page.get_first_root_node()
    for url in (
        reverse("wagtailadmin_pages:add_subpage", args=[root.pk]),
        reverse("wagtailadmin_pages:add_subpage", args=[shop.pk]),
        reverse("wagtailadmin_pages:delete", args=[shop.pk]),
        reverse("wagtailadmin_pages:edit", args=[root.pk]),
    ):
        assert editor_client.get(url).status_code in (302, 403), url


def test_editor_cannot_reach_documents_collections_or_settings(editor_client):
    menu = _menu(editor_client)
    for label, url in (
        ("Documents", reverse("wagtaildocs:index")),
        ("Collections", reverse("wagtailadmin_collections:index")),
        ("Settings", reverse("wagtailsettings:edit", args=["home", "storesettings"])),
    ):
        assert editor_client.get(url).status_code in (302, 403), url
        assert f'"{label}"' not in menu and f">{label}<" not in menu, label
    upload = SimpleUploadedFile("price-list.txt", b"secret prices", content_type="text/plain")
    response = editor_client.post(reverse("wagtaildocs:add"), {"title": "x", "file": upload})
    assert response.status_code in (302, 403)
    assert not get_document_model().objects.exists()


def test_editor_uploads_and_chooses_images(editor_client):
    picture = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 120, 80)).save(picture, format="PNG")
    upload = SimpleUploadedFile("mug.png", picture.getvalue(), content_type="image/png")

    response = editor_client.post(
        reverse("wagtailimages:add"), {"title": "Mug, side view", "file": upload}
    )

    assert response.status_code == 302, response.content[:2000]
    assert get_image_model().objects.filter(title="Mug, side view").exists()
    assert editor_client.get(reverse("wagtailimages_chooser:choose")).status_code == 200
    assert "Images" in _menu(editor_client)
