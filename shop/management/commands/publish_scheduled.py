"""``manage.py publish_scheduled``: Wagtail's command, saying what it published and unpublished.

Wagtail's own command publishes scheduled revisions and unpublishes expired pages and
products silently, so cron mail and logs showed nothing. This one (``shop`` is listed before
``wagtail`` in INSTALLED_APPS, so its name wins) runs Wagtail's unchanged and reports each
change through Wagtail's ``published`` and ``unpublished`` signals, which every page and
snippet publish sends, then a summary line.
"""

from contextlib import contextmanager

from wagtail.management.commands.publish_scheduled import Command as WagtailCommand
from wagtail.signals import published, unpublished


def _describe(instance) -> str:
    specific = getattr(instance, "specific_deferred", instance)
    return f"{specific._meta.verbose_name} {instance}"


class Command(WagtailCommand):
    help = "Publish scheduled changes to pages and products, and unpublish expired ones."

    def handle(self, *args, **options):
        changes = {"published": 0, "unpublished": 0}

        def on_published(sender, instance, **kwargs):
            changes["published"] += 1
            self.stdout.write(f"Published {_describe(instance)}")

        def on_unpublished(sender, instance, **kwargs):
            changes["unpublished"] += 1
            self.stdout.write(f"Unpublished {_describe(instance)} (expired)")

        with _connected(published, on_published), _connected(unpublished, on_unpublished):
            super().handle(*args, **options)
        if not options["dryrun"]:
            self.stdout.write(
                f"{changes['published']} published, {changes['unpublished']} unpublished."
            )


@contextmanager
def _connected(signal, receiver):
    signal.connect(receiver, weak=False)
    try:
        yield
    finally:
        signal.disconnect(receiver)
