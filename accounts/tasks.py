"""Account e-mails, sent through Django's task framework (django-tasks), as shop/tasks.py."""

from django.core.mail import EmailMultiAlternatives
from django_tasks import task


@task()
def account_email_send(
    *, subject: str, body: str, from_email: str | None, to: list[str], html: str | None = None
) -> None:
    """Send one rendered account e-mail (a password-reset link)."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=from_email, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
