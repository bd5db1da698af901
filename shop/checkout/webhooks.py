"""The payment provider's webhook: verify the signature on the raw body, apply the event once.

Every answer is decided here: the service reports what became of the event, and the
gateway's two refusals are the provider's fault or ours to fix, never a retry's.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shop.payments.base import InvalidSignature, MalformedEvent
from shop.services.webhooks import WebhookOutcome, webhook_deliver

logger = logging.getLogger(__name__)

# The provider only looks at the status; the detail helps whoever reads its delivery log.
OUTCOME_DETAIL = {
    WebhookOutcome.APPLIED: "ok",
    WebhookOutcome.DUPLICATE: "duplicate",
    WebhookOutcome.IGNORED: "ignored",
    WebhookOutcome.UNUSABLE: "unusable",
    WebhookOutcome.UNKNOWN_ORDER: "unknown order",
}


@csrf_exempt  # The provider cannot send our CSRF token; the signature authenticates it.
@require_POST
def payment_webhook(request: HttpRequest) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        # Events are a few kilobytes; this is no event of ours, and not a failure.
        logger.warning("webhook refused: body over %d bytes", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return JsonResponse({"error": "request body too large"}, status=413)
    try:
        outcome = webhook_deliver(body=body, headers=request.headers)
    except InvalidSignature:
        return JsonResponse({"detail": "invalid signature"}, status=400)
    except MalformedEvent as exc:
        logger.warning("webhook event refused: %s", exc)
        return JsonResponse({"detail": "malformed event"}, status=400)
    except Exception:
        # Rolled back; a 500 makes the provider deliver the event again later.
        logger.exception("webhook processing failed")
        return JsonResponse({"error": "processing failed"}, status=500)
    return JsonResponse({"detail": OUTCOME_DETAIL[outcome]}, status=200)
