"""Security headers on every response, including a Content-Security-Policy.

Public pages allow only our own scripts and styles (plus Stripe's Checkout as a form and
redirect target when the Stripe gateway is on). The Wagtail admin still sets some inline
styles and starts its image and date-time choosers with inline scripts (Wagtail 8's
widgets render ``<script>new ImageChooser(...)</script>``), so its policy allows inline
styles and scripts and nothing more.
"""

from django.conf import settings

STRIPE_CHECKOUT = "https://checkout.stripe.com"


def _policy(*, admin: bool) -> str:
    form_action = ["'self'"]
    if settings.PAYMENT_GATEWAY == "stripe":
        # Chrome applies form-action to the redirect after POST /checkout/.
        form_action.append(STRIPE_CHECKOUT)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'"] if admin else ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"] if admin else ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": form_action,
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.public_policy = _policy(admin=False)
        self.admin_policy = _policy(admin=True)

    def __call__(self, request):
        response = self.get_response(request)
        is_admin = request.path.startswith("/admin/")
        response.headers.setdefault(
            "Content-Security-Policy", self.admin_policy if is_admin else self.public_policy
        )
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
