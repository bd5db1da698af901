"""Provider-neutral names for what the payment provider gave us; every row is kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0005_b_payment_declined")]

    operations = [
        migrations.RenameField("order", "stripe_session_id", "payment_session_id"),
        migrations.RenameField("order", "payment_intent_id", "payment_id"),
        migrations.RenameField("paymentevent", "stripe_event_id", "provider_event_id"),
        migrations.RenameField("localcheckoutsession", "payment_intent_id", "payment_id"),
    ]
