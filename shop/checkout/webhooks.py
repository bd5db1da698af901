"""POST /stripe/webhook/: verify the signature on the raw body, then apply the event once."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shop.services.webhooks import webhook_deliver

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send our CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        # Stripe's events are a few kilobytes; this is no event of ours, and not a failure.
        logger.warning("webhook refused: body over %d bytes", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return JsonResponse({"error": "request body too large"}, status=413)
    try:
        delivery = webhook_deliver(body=body, signature=request.headers.get("Stripe-Signature"))
    except Exception:
        # Rolled back; a 500 makes Stripe deliver the event again later.
        logger.exception("webhook processing failed")
        return JsonResponse({"error": "processing failed"}, status=500)
    return JsonResponse({"detail": delivery.detail}, status=delivery.status)
