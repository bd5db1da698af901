"""Security headers on every response: the Content-Security-Policy (django-csp) and more.

``CONTENT_SECURITY_POLICY`` (settings/base.py) lets public pages run only our own scripts
and styles. Two parts depend on the request, and are added here: the gateway's hosted
payment page as a form target when it has one (Chrome applies form-action to the redirect
after POST /checkout/), and inline styles and scripts in the Wagtail admin, which starts
its image and date-time choosers with inline scripts (``<script>new ImageChooser(...)``).
Django's SecurityMiddleware sends Cross-Origin-Opener-Policy (same-origin by default).
"""

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware

from shop.payments import checkout_origin


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        update = dict(parts.update or {})
        origin = checkout_origin()
        if origin:
            update["form-action"] = origin
        if request.path.startswith("/admin/"):
            update["script-src"] = update["style-src"] = UNSAFE_INLINE
        parts.update = update or None
        return parts


class PermissionsPolicyMiddleware:
    """No page of the shop uses the camera, the microphone or the shopper's location."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response
