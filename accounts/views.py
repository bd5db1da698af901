"""Sign up, log in and out, password change and reset: Django's auth views, styled like the shop."""

from functools import partial

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import EmailAuthenticationForm, PasswordResetForm, SignUpForm
from accounts.tasks import account_email_send
from site_config.after_response import run_after_response
from site_config.ratelimit import posted_email, rate_limited


def safe_next(request, default: str = "/") -> str:
    """``next`` from the request, if it points at this site; never an open redirect."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
@rate_limited("signup", "SIGNUP_RATE_LIMIT")
@rate_limited("signup-email", "SIGNUP_EMAIL_RATE_LIMIT", key=posted_email)
def signup(request):
    if request.user.is_authenticated:
        return redirect(safe_next(request))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="accounts.throttle.ThrottledModelBackend")
        return redirect(safe_next(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": safe_next(request, default="")}
    return TemplateResponse(request, "accounts/signup.html", context, status=status)


@method_decorator(rate_limited("login", "LOGIN_RATE_LIMIT"), name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@method_decorator(rate_limited("password-reset", "PASSWORD_RESET_RATE_LIMIT"), name="dispatch")
@method_decorator(
    rate_limited("password-reset-email", "PASSWORD_RESET_EMAIL_RATE_LIMIT", key=posted_email),
    name="dispatch",
)
class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view; the e-mail goes out after the response, limited per address and
    per e-mail, so the answer reveals nothing about who has an account."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        response = super().form_valid(form)
        # The shopper has the answer before any mail server is contacted.
        for message in form.outgoing:
            run_after_response(partial(account_email_send.enqueue, **message))
        return response
