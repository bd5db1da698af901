"""A server worker killed while it sends a confirmation e-mail: it is not lost.

A real gunicorn worker talks to a real SMTP server on 127.0.0.1 that accepts and never
answers; the worker is killed with ``kill -9`` in the middle of the send. Nothing may be
marked sent, and ``manage.py reconcile_payments`` must send it once the claim has lapsed.
"""

import time

import pytest

from shop.models import Order
from shop.tasks import confirmation_message_id
from tests.reliability.cluster import (
    REQUEST_TIMEOUT,
    ShopCluster,
    deliver,
    place_order,
    signed_event,
)
from tests.support.servers import AppServer, manage, wait_until
from tests.support.smtp_fake import SMTPServer

EMAIL_STATE = (
    "SELECT status, confirmation_emailed_at IS NULL, confirmation_claimed_until IS NOT NULL"
    " FROM shop_order WHERE reference = %s"
)


@pytest.mark.postgres
def test_worker_killed_mid_send_marks_nothing_sent_and_reconciliation_sends_it_once(
    cluster: ShopCluster, tmp_path
) -> None:
    with (
        SMTPServer(hang_first=1_000) as smtp,
        AppServer(
            "server-smtp",
            env={
                **cluster.env,
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
                "EMAIL_TIMEOUT": "60",
            },
            log_path=tmp_path / "server-smtp.log",
            workers=1,
            threads=1,
        ) as server,
    ):
        order = place_order(cluster, server)
        paid = cluster.fake.complete_session(order.session_id)
        started = time.monotonic()
        response = deliver(server, signed_event("checkout.session.completed", paid))
        answered_after = time.monotonic() - started
        # The worker has answered and is now waiting for the mail server's greeting.
        wait_until(lambda: smtp.connections, timeout=REQUEST_TIMEOUT, what="the send to start")
        (worker,) = server.worker_pids()
        server.kill_worker(worker)

        assert response.status_code == 200
        assert answered_after < 30  # far below the mail server's 60 s timeout
        row = cluster.database.query(EMAIL_STATE, (order.reference,))[0]
        assert row == ("paid", True, True)  # paid, not marked e-mailed, claim held

    # An hour later the claim has lapsed and cron runs reconciliation.
    cluster.database.query(
        "UPDATE shop_order SET paid_at = paid_at - interval '1 hour',"
        " confirmation_claimed_until = now() - interval '1 second' WHERE reference = %s"
        " RETURNING id",
        (order.reference,),
    )
    manage("reconcile_payments", "--skip-checks", env=cluster.env, log_path=tmp_path / "cron.log")
    manage("reconcile_payments", "--skip-checks", env=cluster.env, log_path=tmp_path / "cron.log")

    assert cluster.emails(order.reference) == 1
    (message,) = [
        m
        for m in cluster.outbox.messages()
        if m["Subject"] == f"Your order {order.reference} is confirmed"
    ]
    assert message["Message-ID"] == confirmation_message_id(Order(reference=order.reference))
