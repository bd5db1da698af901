"""The order timeline (OrderEvent), and ``returned_at`` named for what it holds; rows kept."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

BATCH = 2000


def timeline_begin(apps, schema_editor):
    """Existing orders get the entries whose time we know: placed, and paid if they were."""
    Order = apps.get_model("shop", "Order")
    OrderEvent = apps.get_model("shop", "OrderEvent")
    entries = []
    for order_id, created_at, paid_at in Order.objects.values_list("pk", "created_at", "paid_at").iterator():
        entries.append(OrderEvent(order_id=order_id, kind="placed", origin="system", created_at=created_at, message="Recorded when the timeline began"))
        if paid_at is not None:
            # The status it was paid from is not known: a late payment may follow an expiry.
            entries.append(OrderEvent(order_id=order_id, kind="payment_received", new_status="paid", origin="system", created_at=paid_at, message="Recorded when the timeline began"))
        if len(entries) >= BATCH:
            OrderEvent.objects.bulk_create(entries)
            entries = []
    OrderEvent.objects.bulk_create(entries)


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0007_a_payment_event_kind'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(
            model_name='order',
            old_name='returned_at',
            new_name='awaiting_confirmation_since',
        ),
        migrations.CreateModel(
            name='OrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('placed', 'Placed'), ('status_changed', 'Status changed'), ('payment_received', 'Payment received'), ('payment_declined', 'Payment declined'), ('awaiting_confirmation', 'Awaiting payment confirmation'), ('email_sent', 'E-mail sent'), ('note', 'Note')], max_length=32)),
                ('old_status', models.CharField(blank=True, choices=[('pending', 'Pending'), ('paid', 'Paid'), ('failed', 'Payment failed'), ('canceled', 'Canceled'), ('expired', 'Expired'), ('refunded', 'Refunded')], max_length=16)),
                ('new_status', models.CharField(blank=True, choices=[('pending', 'Pending'), ('paid', 'Paid'), ('failed', 'Payment failed'), ('canceled', 'Canceled'), ('expired', 'Expired'), ('refunded', 'Refunded')], max_length=16)),
                ('origin', models.CharField(choices=[('checkout', 'Checkout'), ('provider_event', 'Provider event'), ('success_page', 'Success page'), ('cancel_page', 'Cancel page'), ('reconciliation', 'Reconciliation'), ('admin_user', 'Admin user'), ('system', 'System')], max_length=32)),
                ('provider_event_id', models.CharField(blank=True, max_length=255)),
                ('message', models.CharField(blank=True, max_length=255)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='timeline', to='shop.order')),
                ('user', models.ForeignKey(blank=True, help_text='The admin user who made the change.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at', 'pk'],
                'indexes': [models.Index(fields=['order', 'created_at'], name='orderevent_order_time')],
            },
        ),
        migrations.RunPython(timeline_begin, migrations.RunPython.noop),
    ]
