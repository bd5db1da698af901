"""Payment events gain our own kind, the payment they are about and whether they refund it
in full; every row is kept.

Rows already stored are filled from their payload as it was recorded (Stripe-shaped, as
every event so far has been), so a refund recorded before its payment is still found.
"""

from django.db import migrations, models

# The provider's type names as they stood when this migration was written.
KINDS = {
    "checkout.session.completed": "session_completed",
    "checkout.session.async_payment_succeeded": "async_payment_succeeded",
    "checkout.session.async_payment_failed": "async_payment_failed",
    "checkout.session.expired": "session_expired",
    "payment_intent.payment_failed": "payment_attempt_failed",
    "charge.refunded": "refund_updated",
}
NAMES_A_PAYMENT = {"session_completed", "async_payment_succeeded", "async_payment_failed",
                   "session_expired", "refund_updated"}  # fmt: skip


def _payment_id(payload) -> str:
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    value = obj.get("payment_intent") if isinstance(obj, dict) else None
    if isinstance(value, dict):
        value = value.get("id")
    return value[:255] if isinstance(value, str) else ""


def _refunded(payload) -> bool:
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return isinstance(obj, dict) and obj.get("refunded") is True


FILLED = ["kind", "payment_id", "full_refund"]


def fill(apps, schema_editor):
    PaymentEvent = apps.get_model("shop", "PaymentEvent")
    changed = []
    for event in PaymentEvent.objects.only("pk", "type", "payload").iterator(chunk_size=500):
        event.kind = KINDS.get(event.type, "unhandled")
        event.payment_id = _payment_id(event.payload) if event.kind in NAMES_A_PAYMENT else ""
        event.full_refund = event.kind == "refund_updated" and _refunded(event.payload)
        changed.append(event)
        if len(changed) == 500:
            PaymentEvent.objects.bulk_update(changed, FILLED)
            changed = []
    PaymentEvent.objects.bulk_update(changed, FILLED)


class Migration(migrations.Migration):
    dependencies = [("shop", "0006_provider_neutral_names")]

    operations = [
        migrations.AddField(
            model_name="paymentevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("session_completed", "Checkout completed"),
                    ("async_payment_succeeded", "Delayed payment succeeded"),
                    ("async_payment_failed", "Delayed payment failed"),
                    ("session_expired", "Checkout expired"),
                    ("payment_attempt_failed", "Payment attempt declined"),
                    ("refund_updated", "Refund updated"),
                    ("unusable", "Not usable"),
                    ("unhandled", "Not handled"),
                ],
                default="unhandled",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="payment_id",
            field=models.CharField(blank=True, db_index=True, max_length=255),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="full_refund",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
