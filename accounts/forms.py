"""Sign-up and log-in forms: e-mail and password; the e-mail is the username, lower-cased."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from accounts import throttle
from site_config.site_url import site_url


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
                self.add_error("password1", exc)
        return cleaned

    def save(self):
        email = self.cleaned_data["email"]
        return get_user_model().objects.create_user(
            username=email, email=email, password=self.cleaned_data["password1"]
        )


class EmailAuthenticationForm(AuthenticationForm):
    """Django's log-in form, asking for an e-mail, refusing early while throttled."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update(autocomplete="email", inputmode="email")

    def clean(self):
        username = (self.data.get("username") or "").strip()
        if throttle.is_throttled(username.lower() if "@" in username else username, self.request):
            raise forms.ValidationError(throttle.MESSAGE, code="throttled")
        return super().clean()


class SiteUrlPasswordResetForm(PasswordResetForm):
    """Django's reset form, linking to the shop's absolute URL (``site_config.site_url``).

    Django would build the link from the request's Host, port and all, and ignore SITE_URL.
    """

    def save(self, *, request=None, extra_email_context=None, **kwargs):
        protocol, _, domain = site_url(request=request).partition("://")
        context = {"protocol": protocol, "domain": domain, **(extra_email_context or {})}
        return super().save(request=request, extra_email_context=context, **kwargs)
