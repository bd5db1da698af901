"""Sign-up, log-in and password-reset forms: the e-mail is the username, lower-cased."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.template import loader

from accounts import throttle
from site_config.site_url import site_url

# The rules are listed once, as the password's help text; an error names the rule broken
# without spelling it out a second time (Django's messages restate the rule).
PASSWORD_RULE_BROKEN = {
    "password_too_short": "This password is too short.",
    "password_too_common": "This password is too common.",
    "password_entirely_numeric": "This password is only numbers.",
    "password_too_similar": "This password is too close to your e-mail address.",
}


def _rule_broken(error: forms.ValidationError) -> forms.ValidationError:
    return forms.ValidationError(
        PASSWORD_RULE_BROKEN.get(error.code, error.messages[0]), code=error.code
    )


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="E-mail", max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        users = get_user_model().objects
        if users.filter(email__iexact=email).exists() or users.filter(username=email).exists():
            raise forms.ValidationError(
                "An account with this e-mail already exists. Log in, or reset your password."
            )
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords don't match.")
        elif password1 and cleaned.get("email"):
            candidate = get_user_model()(username=cleaned["email"], email=cleaned["email"])
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", [_rule_broken(error) for error in exc.error_list])
        return cleaned

    def save(self):
        email = self.cleaned_data["email"]
        return get_user_model().objects.create_user(
            username=email, email=email, password=self.cleaned_data["password1"]
        )


class EmailAuthenticationForm(AuthenticationForm):
    """Django's log-in form, asking for an e-mail, refusing early while throttled."""

    error_messages = {
        **AuthenticationForm.error_messages,
        # Django's says "username", beside a field labelled E-mail.
        "invalid_login": "That e-mail address and password don't match an account. "
        "Check both (the password is case-sensitive) and try again.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update(autocomplete="email", inputmode="email")

    def clean(self):
        username = (self.data.get("username") or "").strip()
        if throttle.is_throttled(username.lower() if "@" in username else username, self.request):
            raise forms.ValidationError(throttle.MESSAGE, code="throttled")
        return super().clean()


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, rendering each e-mail into ``outgoing`` instead of sending it.

    The view sends them after the response, so a registered and an unknown address take
    the same time to answer, however slow the mail server. The link follows the shop's
    absolute URL (``site_config.site_url``): Django would build it from the request's Host,
    port and all, and ignore SITE_URL.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outgoing: list[dict] = []

    def save(self, *, request=None, extra_email_context=None, **kwargs):
        protocol, _, domain = site_url(request=request).partition("://")
        context = {"protocol": protocol, "domain": domain, **(extra_email_context or {})}
        return super().save(request=request, extra_email_context=context, **kwargs)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        self.outgoing.append(
            {
                "subject": subject,
                "body": loader.render_to_string(email_template_name, context),
                "from_email": from_email,
                "to": [to_email],
                "html": html,
            }
        )
