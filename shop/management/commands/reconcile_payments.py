"""python manage.py reconcile_payments [--older-than MINUTES] [--dry-run]

Settles pending orders whose webhook never arrived by asking the payment gateway about
each one (``shop.services.reconciliation``). Safe to run from cron on several machines at
once. Prints one line per order and a summary; exits non-zero when the gateway could not
be reached or an order could not be settled, so cron and monitoring notice.

It also removes the claims of guest cookies too old to verify (``shop.models.GuestClaim``).
"""

import datetime as dt

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop import selectors
from shop.services.reconciliation import (
    ACTIONS,
    ERROR,
    PAID,
    SKIPPED,
    ReconcileReport,
    payments_reconcile,
)
from shop.shoppers import guest_claims_remove_expired

DEFAULT_MINUTES = int(selectors.STALE_PENDING_AFTER.total_seconds() // 60)


def _minutes(value: str) -> int:
    minutes = int(value)
    if minutes < 0:
        raise ValueError("must not be negative")
    return minutes


class Command(BaseCommand):
    help = "Settle pending orders older than a threshold with what the payment gateway reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=_minutes,
            default=DEFAULT_MINUTES,
            metavar="MINUTES",
            help=f"Only orders whose checkout began this long ago (default {DEFAULT_MINUTES}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Ask the gateway and report what would be done, changing nothing.",
        )

    def handle(self, *args, older_than: int, dry_run: bool, **options) -> None:
        # Nothing to do with the gateway: done first, so that an unreachable one does not stop it.
        removed = 0 if dry_run else guest_claims_remove_expired()
        if removed:
            self.stdout.write(f"Removed {removed} expired guest cookie claim(s).")
        try:
            report = payments_reconcile(
                older_than=dt.timedelta(minutes=older_than), dry_run=dry_run
            )
        except ImproperlyConfigured as exc:
            raise CommandError(f"Payment gateway is not configured: {exc}") from exc
        self._print(report, older_than)
        if report.gateway_error is not None:
            raise CommandError(
                "Payment gateway unavailable; stopped without touching the remaining orders."
            )
        if report.counts[ERROR]:
            raise CommandError(f"{report.counts[ERROR]} order(s) could not be settled; see above.")

    def _print(self, report: ReconcileReport, minutes: int) -> None:
        prefix = "[dry run] " if report.dry_run else ""
        for outcome in report.outcomes:
            line = f"{prefix}{outcome.reference}  {outcome.action:<10}  {outcome.detail}"
            if outcome.session_id:
                line += f"  (session {outcome.session_id})"
            style = {ERROR: self.style.ERROR, PAID: self.style.SUCCESS}.get(outcome.action)
            if outcome.action == SKIPPED:
                style = self.style.WARNING
            self.stdout.write(style(line) if style else line)
        for refund_id in report.refunds_retried:
            self.stdout.write(f"refund {refund_id}  pending  asked the payment provider again")
        for reference in report.confirmations_requeued:
            verb = "would queue" if report.dry_run else "queued"
            self.stdout.write(f"{prefix}{reference}  paid        confirmation e-mail {verb} again")
        for reference in report.shipped_emails_requeued:
            verb = "would queue" if report.dry_run else "queued"
            self.stdout.write(f"{prefix}{reference}  shipped     shipped e-mail {verb} again")
        for refund in report.refund_emails_requeued:
            verb = "would queue" if report.dry_run else "queued"
            self.stdout.write(f"{prefix}{refund}  refunded  refund e-mail {verb} again")

        counts = report.counts
        found = ", ".join(f"{counts[action]} {action}" for action in ACTIONS if counts[action])
        summary = (
            f"{prefix}Checked {len(report.outcomes)} pending order(s) older than "
            f"{minutes} minutes: {found or 'nothing to do'}."
        )
        if report.confirmations_requeued:
            summary += (
                f" {len(report.confirmations_requeued)} confirmation e-mail(s) "
                f"{'would be ' if report.dry_run else ''}queued again."
            )
        if report.shipped_emails_requeued:
            summary += (
                f" {len(report.shipped_emails_requeued)} shipped e-mail(s) "
                f"{'would be ' if report.dry_run else ''}queued again."
            )
        if report.refund_emails_requeued:
            summary += (
                f" {len(report.refund_emails_requeued)} refund e-mail(s) "
                f"{'would be ' if report.dry_run else ''}queued again."
            )
        if report.dry_run:
            summary += " Nothing was changed."
        self.stdout.write(summary)
        if report.gateway_error is not None:
            self.stderr.write(
                f"Payment gateway unavailable: {report.gateway_error}. "
                f"{report.unchecked} order(s) not checked."
            )
