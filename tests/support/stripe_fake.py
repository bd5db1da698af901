"""A fake Stripe API server for tests: real HTTP on 127.0.0.1, Stripe-shaped answers.

It covers what the shop uses of Checkout Sessions (create, retrieve, expire; automatic
tax at one fixed rate, FAKE_TAX_RATE_PERCENT) and
Refunds (create, retrieve, and the events Stripe sends about them), the Invoice a
session with ``invoice_creation`` makes when paid (retrieve, and its events), and answers
the way Stripe does: form-encoded requests with bracketed keys,
JSON objects back, ``{"error": {...}}`` bodies with Stripe's status codes,
bearer-key authentication and idempotency keys. Tests drive it through the
real stripe SDK by pointing ``api_base`` at :attr:`FakeStripe.url`, and steer
it with the control methods (complete a session, inject faults, delays and
refused connections). It knows nothing about Django.

Usage::

    with FakeStripe() as fake:
        gateway = StripeGateway(secret_key="sk_test_x", api_base=fake.url)
        ...
        fake.complete_session(session_id)
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import string
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, unquote_plus, urlsplit

_ID_ALPHABET = string.ascii_letters + string.digits
_KEY_SEGMENT = re.compile(r"\[([^\]]*)\]")
_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/([^/]+)$")
_EXPIRE_PATH = re.compile(r"^/v1/checkout/sessions/([^/]+)/expire$")
_PAY_PATH = re.compile(r"^/pay/([^/]+)$")
_REFUND_PATH = re.compile(r"^/v1/refunds/([^/]+)$")
_COUPON_PATH = re.compile(r"^/v1/coupons/([^/]+)$")
_INVOICE_PATH = re.compile(r"^/v1/invoices/([^/]+)$")

# Automatic tax: the fake's Stripe Tax charges this one rate, wherever the address is, on
# every line and shipping rate (rounded half up per line, as Stripe rounds per line item).
FAKE_TAX_RATE_PERCENT = 10
_TAX_CODE = re.compile(r"^txcd_[0-9]{8}$")
_TAX_BEHAVIORS = ("inclusive", "exclusive")

# Stripe's limits on a Checkout Session's expires_at, counted from creation.
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60

# Default error body per injected status: (type, code, message).
_FAULT_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Injected invalid request."),
    401: ("invalid_request_error", None, "Invalid API Key provided."),
    402: ("card_error", "card_declined", "Your card was declined."),
    403: ("invalid_request_error", None, "The provided key does not have permission."),
    404: ("invalid_request_error", "resource_missing", "No such object."),
    409: ("invalid_request_error", "lock_timeout", "Another request is using this object."),
    429: ("invalid_request_error", "rate_limit", "Request rate limit exceeded."),
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _StoredIdempotentResult:
    method: str
    path: str
    params: dict[str, Any]
    response: _Response


class _ApiError(Exception):
    """Raised inside request handling to answer with a Stripe error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.payload: dict[str, Any] = {"type": error_type, "message": message}
        if code is not None:
            self.payload["code"] = code
        if param is not None:
            self.payload["param"] = param


class FakeStripe:
    """A threaded fake of the Stripe API's Checkout Session endpoints.

    ``valid_keys`` limits which secret keys authenticate; by default any
    ``sk_test_`` key does. ``enforce_expiry_window`` applies Stripe's rule that
    ``expires_at`` lies 30 minutes to 24 hours after creation.
    """

    def __init__(
        self,
        *,
        valid_keys: Iterable[str] | None = None,
        enforce_expiry_window: bool = True,
    ) -> None:
        self.valid_keys: set[str] | None = set(valid_keys) if valid_keys is not None else None
        self.enforce_expiry_window = enforce_expiry_window
        self.sessions: dict[str, dict[str, Any]] = {}
        # ShippingRate objects made from sessions' shipping_rate_data, by id.
        self.shipping_rates: dict[str, dict[str, Any]] = {}
        # Sessions with automatic tax: each line's (amount, tax_behavior), by session id.
        self.taxed_lines: dict[str, list[tuple[int, str]]] = {}
        self.session_creations = 0
        # Payment intents of completed sessions: amount, currency, amount_refunded.
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.refund_creations = 0
        # Coupons made with POST /v1/coupons, by id (sessions' discounts name them).
        self.coupons: dict[str, dict[str, Any]] = {}
        # Invoices made by paid sessions with invoice_creation enabled, by id.
        self.invoices: dict[str, dict[str, Any]] = {}
        # The status the next refunds are created with (cards: succeeded at once).
        self.refund_status = "succeeded"
        self._requests: list[RecordedRequest] = []
        self._idempotent_results: dict[str, _StoredIdempotentResult] = {}
        self._faults: list[_ApiError] = []
        self._delays: list[float] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL to pass as the SDK's ``api_base``, e.g. ``http://127.0.0.1:50123``."""
        if not self._port:
            raise RuntimeError("FakeStripe is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._listen()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; delayed requests are abandoned unanswered."""
        self._stopping.set()
        self._close_listener()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def refuse_connections(self) -> None:
        """Close the listening socket so connections are refused, keeping all state."""
        self._close_listener()

    def accept_connections(self) -> None:
        """Listen again on the same port after :meth:`refuse_connections`."""
        if self._server is None:
            self._listen()

    def _listen(self) -> None:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeStripe:{self._port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def _close_listener(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    # -- what happened -----------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget sessions, requests, idempotency keys and pending faults."""
        with self._lock:
            self.sessions.clear()
            self.shipping_rates.clear()
            self.taxed_lines.clear()
            self.session_creations = 0
            self.payments.clear()
            self.refunds.clear()
            self.refund_creations = 0
            self.coupons.clear()
            self.invoices.clear()
            self._requests.clear()
            self._idempotent_results.clear()
            self._faults.clear()
            self._delays.clear()

    # -- steering ----------------------------------------------------------

    def complete_session(
        self,
        session_id: str,
        *,
        payment_status: str = "paid",
        amount_total: int | None = None,
        currency: str | None = None,
        customer_email: str | None = "buyer@example.com",
        shipping_option: int = 0,
        shipping_amount: int | None = None,
        shipping_details: Mapping[str, Any] | None = None,
        country: str | None = None,
        phone: str | None = None,
        amount_tax: int | None = None,
    ) -> dict[str, Any]:
        """Finish an open session as if the shopper paid; return the session.

        A session that collects an address is completed with one (``shipping_details``,
        Stripe's {name, address{...}}; by default a street in ``country`` or the first
        allowed country) and the option at position ``shipping_option``, charged its
        amount unless ``shipping_amount`` says otherwise (an amount we did not offer).
        ``amount_total`` and ``currency`` override what Stripe charged, for testing
        mismatches against the order. A session with automatic tax is taxed at
        FAKE_TAX_RATE_PERCENT; ``amount_tax`` then overrides the tax it reports (the total
        stays as calculated).
        """
        with self._lock:
            session = self._open_session(session_id)
            session.update(
                status="complete",
                payment_status=payment_status,
                payment_intent=f"pi_test_{_random_id()}",
                customer_details={
                    "email": customer_email,
                    "name": None,
                    "phone": phone,
                    "address": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                url=None,
            )
            if session.get("shipping_options"):
                self._choose_shipping(
                    session,
                    option=shipping_option,
                    amount=shipping_amount,
                    details=shipping_details,
                    country=country,
                )
            if session["id"] in self.taxed_lines:
                self._calculate_tax(session)
            if amount_tax is not None:
                session.setdefault("total_details", {})["amount_tax"] = amount_tax
            if amount_total is not None:
                session["amount_total"] = amount_total
                session["amount_subtotal"] = amount_total
            if currency is not None:
                session["currency"] = currency
            self.payments[session["payment_intent"]] = {
                "amount": session["amount_total"],
                "currency": session["currency"],
                "amount_refunded": 0,
            }
            if session["invoice_creation"]["enabled"] and payment_status == "paid":
                session["invoice"] = self._create_invoice(session)["id"]
            return dict(session)

    # -- invoices: made by paid sessions with invoice_creation ---------------

    def _create_invoice(self, session: dict[str, Any]) -> dict[str, Any]:
        """The paid Invoice Stripe makes for a completed session (``invoice_creation``)."""
        invoice_id = f"in_{_random_id()}"
        token = _random_id(40)
        details = session.get("customer_details") or {}
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": session["amount_total"],
            "amount_paid": session["amount_total"],
            "amount_remaining": 0,
            "collection_method": "charge_automatically",
            "created": int(time.time()),
            "currency": session["currency"],
            "customer": session.get("customer"),
            "customer_email": details.get("email") or session.get("customer_email"),
            "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_fake/test_{token}",
            "invoice_pdf": f"https://pay.stripe.com/invoice/acct_fake/test_{token}/pdf",
            "livemode": False,
            "metadata": dict(session.get("metadata") or {}),
            "number": f"FAKE-{len(self.invoices) + 1:04d}",
            "status": "paid",
            "status_transitions": {"finalized_at": int(time.time()), "paid_at": int(time.time())},
            "total": session["amount_total"],
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def invoice_event(self, invoice_id: str, event_type: str = "invoice.paid") -> dict[str, Any]:
        """``invoice.finalized`` or ``invoice.paid`` for one of the fake's invoices."""
        with self._lock:
            invoice = dict(self.invoices[invoice_id])
        return self.event(event_type, invoice)

    # -- refunds: the objects and the events Stripe sends about them --------

    def dashboard_refund(self, payment_intent: str, amount: int) -> dict[str, Any]:
        """A refund made in Stripe's Dashboard: no metadata of ours; returns the refund."""
        with self._lock:
            return dict(self._create_refund({"payment_intent": payment_intent, "amount": amount}))

    def refund_events(self, refund_id: str) -> list[dict[str, Any]]:
        """What Stripe sends when a refund is made: ``refund.created``, then (once it has
        succeeded) ``charge.refunded`` with the payment's cumulative refunded amount."""
        with self._lock:
            refund = dict(self.refunds[refund_id])
        events = [self.event("refund.created", refund)]
        if refund["status"] == "succeeded":
            events.append(self.charge_refunded_event(refund["payment_intent"]))
        return events

    def charge_refunded_event(self, payment_intent: str) -> dict[str, Any]:
        """``charge.refunded`` as our API version renders it: the charge's cumulative
        ``amount_refunded`` and ``refunded`` (all of it); its refunds are not embedded."""
        with self._lock:
            payment = self.payments[payment_intent]
            charge = {
                "id": f"ch_{payment_intent.removeprefix('pi_')}",
                "object": "charge",
                "amount": payment["amount"],
                "amount_captured": payment["amount"],
                "amount_refunded": payment["amount_refunded"],
                "captured": True,
                "currency": payment["currency"],
                "paid": True,
                "payment_intent": payment_intent,
                "refunded": payment["amount_refunded"] >= payment["amount"],
                "status": "succeeded",
            }
        return self.event("charge.refunded", charge)

    def update_refund(
        self, refund_id: str, status: str, *, failure_reason: str | None = None
    ) -> dict[str, Any]:
        """A pending refund settles at the bank: the event Stripe sends (``refund.failed``
        for a failure, else ``refund.updated``)."""
        with self._lock:
            refund = self.refunds[refund_id]
            previous, refund["status"] = refund["status"], status
            payment = self.payments[refund["payment_intent"]]
            if status == "succeeded" and previous != "succeeded":
                payment["amount_refunded"] += refund["amount"]
            if status in ("failed", "canceled"):
                if previous == "succeeded":
                    payment["amount_refunded"] -= refund["amount"]
                refund["failure_reason"] = failure_reason or "unknown"
            snapshot = dict(refund)
        return self.event("refund.failed" if status == "failed" else "refund.updated", snapshot)

    def _calculate_tax(self, session: dict[str, Any]) -> None:
        """Stripe Tax at FAKE_TAX_RATE_PERCENT: inclusive tax is the part of the amount that
        is tax (the total unchanged), exclusive tax is added on top of the total."""

        def tax_of(amount: int, behavior: str) -> int:
            base = 100 if behavior == "exclusive" else 100 + FAKE_TAX_RATE_PERCENT
            return (2 * amount * FAKE_TAX_RATE_PERCENT + base) // (2 * base)

        lines = self.taxed_lines[session["id"]]
        # Stripe taxes what is charged: a discount's share comes off each line first
        # (proportionally, the rounding remainder on the last line).
        discount = (session.get("total_details") or {}).get("amount_discount", 0)
        subtotal = sum(a for a, _ in lines) or 1
        shares = [discount * a // subtotal for a, _ in lines]
        if shares:
            shares[-1] += discount - sum(shares)
        taxes = [(tax_of(a - share, b), b) for (a, b), share in zip(lines, shares, strict=True)]
        cost = session.get("shipping_cost")
        if cost:
            behavior = self.shipping_rates[cost["shipping_rate"]].get("tax_behavior")
            shipping_tax = tax_of(cost["amount_subtotal"], behavior)
            taxes.append((shipping_tax, behavior))
            cost["amount_tax"] = shipping_tax
            if behavior == "exclusive":
                cost["amount_total"] = cost["amount_subtotal"] + shipping_tax
        totals = session.setdefault(
            "total_details", {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}
        )
        totals["amount_tax"] = sum(tax for tax, _ in taxes)
        session["amount_total"] += sum(tax for tax, b in taxes if b == "exclusive")
        session["automatic_tax"]["status"] = "complete"

    def _choose_shipping(
        self,
        session: dict[str, Any],
        *,
        option: int,
        amount: int | None,
        details: Mapping[str, Any] | None,
        country: str | None,
    ) -> None:
        offered = session["shipping_options"][option]
        charged = offered["shipping_amount"] if amount is None else amount
        if details is None:
            allowed = session["shipping_address_collection"]["allowed_countries"]
            details = {
                "name": "Ada Lovelace",
                "address": {
                    "line1": "12 Analytical Row",
                    "line2": None,
                    "city": "Springfield",
                    "postal_code": "62701",
                    "state": None,
                    "country": country or allowed[0],
                },
            }
        session["shipping_cost"] = {
            "amount_subtotal": charged,
            "amount_tax": 0,
            "amount_total": charged,
            "shipping_rate": offered["shipping_rate"],
            "taxes": [],
        }
        discount = (session.get("total_details") or {}).get("amount_discount", 0)
        session["total_details"] = {
            "amount_discount": discount,
            "amount_shipping": charged,
            "amount_tax": 0,
        }
        session["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": dict(details),
        }
        session["amount_total"] = session["amount_subtotal"] - discount + charged

    def event(
        self, event_type: str, obj: Mapping[str, Any], *, api_version: str | None = None
    ) -> dict[str, Any]:
        """An Event envelope for a webhook endpoint, as Stripe would deliver it.

        Rendered in ``api_version``, by default the ``Stripe-Version`` the latest API
        request asked for: the endpoint is set to the version the client speaks.
        """
        if api_version is None:
            with self._lock:
                versions = [r.headers.get("stripe-version") for r in self._requests]
            api_version = next((v for v in reversed(versions) if v), None)
        if api_version is None:
            raise ValueError("no request named a Stripe-Version; pass api_version")
        return {
            "id": f"evt_{_random_id()}",
            "object": "event",
            "api_version": api_version,
            "created": int(time.time()),
            "data": {"object": dict(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "type": event_type,
        }

    def expire(self, session_id: str) -> dict[str, Any]:
        """Expire an open session as Stripe does when ``expires_at`` passes."""
        with self._lock:
            session = self._open_session(session_id)
            session.update(status="expired", url=None)
            return dict(session)

    def inject_fault(
        self,
        status: int = 500,
        times: int = 1,
        *,
        error_type: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` API requests with a Stripe error of ``status``.

        Faulted requests change nothing and are not stored against their
        idempotency key, so a retry is processed normally.
        """
        default_type, default_code, default_message = _FAULT_ERRORS.get(
            status, ("api_error", None, "An unknown error occurred.")
        )
        fault = _ApiError(
            status,
            message or default_message,
            error_type=error_type or default_type,
            code=code or default_code,
        )
        with self._lock:
            self._faults.extend([fault] * times)

    def inject_delay(self, seconds: float, times: int = 1) -> None:
        """Sleep ``seconds`` before handling each of the next ``times`` API requests.

        The request is still processed afterwards, as Stripe would after a
        client gave up waiting.
        """
        with self._lock:
            self._delays.extend([seconds] * times)

    def _open_session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise KeyError(f"no session {session_id!r}")
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}, not open")
        return session

    # -- request handling (called from server threads) ---------------------

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response:
        split = urlsplit(raw_path)
        path = split.path
        if method == "GET" and (match := _PAY_PATH.match(path)):
            return self._pay_page(unquote_plus(match.group(1)))

        query = split.query if method == "GET" else body.decode("utf-8", "replace")
        params = _parse_form(query)
        idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        with self._lock:
            self._requests.append(
                RecordedRequest(method, path, dict(headers), params, idempotency_key)
            )
            delay = self._delays.pop(0) if self._delays else None
            fault = self._faults.pop(0) if self._faults else None

        if delay is not None and self._stopping.wait(delay):
            raise _Abandon
        if fault is not None:
            return _error_response(fault)
        try:
            self._authenticate(headers.get("authorization"))
        except _ApiError as exc:
            return _error_response(exc)

        # One lock over lookup, execution and storage, so concurrent requests
        # with one key cannot both create a session.
        with self._lock:
            if idempotency_key:
                stored = self._idempotent_results.get(idempotency_key)
                if stored is not None:
                    return _replay(stored, method, path, params, idempotency_key)
            try:
                payload = self._route(method, path, params)
            except _ApiError as exc:
                return _error_response(exc)
            response = _json_response(200, payload)
            if idempotency_key:
                self._idempotent_results[idempotency_key] = _StoredIdempotentResult(
                    method, path, params, response
                )
            return response

    def _authenticate(self, authorization: str | None) -> None:
        key = _api_key_from(authorization)
        if not key:
            raise _ApiError(
                401,
                "You did not provide an API key. Provide it in the Authorization header "
                "as 'Bearer sk_test_...'.",
            )
        allowed = (
            key in self.valid_keys if self.valid_keys is not None else key.startswith("sk_test_")
        )
        if not allowed:
            raise _ApiError(401, f"Invalid API Key provided: {_mask(key)}")

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        if method == "GET" and (match := _SESSION_PATH.match(path)):
            return dict(self._session_or_404(unquote_plus(match.group(1))))
        if method == "POST" and (match := _EXPIRE_PATH.match(path)):
            return self._expire_session(unquote_plus(match.group(1)))
        if method == "POST" and path == "/v1/refunds":
            return dict(self._create_refund(params))
        if method == "POST" and path == "/v1/coupons":
            return dict(self._create_coupon(params))
        if method == "GET" and (match := _COUPON_PATH.match(path)):
            coupon = self.coupons.get(unquote_plus(match.group(1)))
            if coupon is None:
                raise _ApiError(404, "No such coupon", code="resource_missing", param="id")
            return dict(coupon)
        if method == "GET" and (match := _INVOICE_PATH.match(path)):
            invoice = self.invoices.get(unquote_plus(match.group(1)))
            if invoice is None:
                raise _ApiError(404, "No such invoice", code="resource_missing", param="id")
            return dict(invoice)
        if method == "GET" and (match := _REFUND_PATH.match(path)):
            refund = self.refunds.get(unquote_plus(match.group(1)))
            if refund is None:
                raise _ApiError(404, "No such refund", code="resource_missing", param="id")
            return dict(refund)
        raise _ApiError(404, f"Unrecognized request URL ({method}: {path}).")

    def _session_or_404(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise _ApiError(
                404,
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
                param="session",
            )
        return session

    def _expire_session(self, session_id: str) -> dict[str, Any]:
        session = self._session_or_404(session_id)
        if session["status"] != "open":
            raise _ApiError(
                400,
                'Only Checkout Sessions with a status of "open" can be expired; '
                f'this one is "{session["status"]}".',
            )
        session.update(status="expired", url=None)
        return dict(session)

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for required in ("mode", "success_url", "line_items"):
            if not params.get(required):
                raise _ApiError(
                    400,
                    f"Missing required param: {required}.",
                    code="parameter_missing",
                    param=required,
                )
        if params["mode"] != "payment":
            raise _ApiError(
                400, "This fake supports only mode=payment.", code="parameter_invalid_string"
            )
        line_items = params["line_items"]
        if not isinstance(line_items, list):
            raise _ApiError(400, "Invalid array", param="line_items")

        amount_total = 0
        currencies = set()
        lines_taxed: list[tuple[int, str]] = []
        for index, item in enumerate(line_items):
            prefix = f"line_items[{index}]"
            price_data = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price_data, dict):
                raise _ApiError(
                    400,
                    f"Missing required param: {prefix}[price_data] (this fake has no Prices).",
                    code="parameter_missing",
                    param=f"{prefix}[price_data]",
                )
            product_data = price_data.get("product_data")
            if not isinstance(product_data, dict) or not product_data.get("name"):
                raise _ApiError(
                    400,
                    f"Missing required param: {prefix}[price_data][product_data][name].",
                    code="parameter_missing",
                    param=f"{prefix}[price_data][product_data][name]",
                )
            currency = price_data.get("currency")
            if not currency:
                raise _ApiError(
                    400,
                    f"Missing required param: {prefix}[price_data][currency].",
                    code="parameter_missing",
                    param=f"{prefix}[price_data][currency]",
                )
            unit_amount = _integer(
                price_data.get("unit_amount"), f"{prefix}[price_data][unit_amount]"
            )
            quantity = _integer(item.get("quantity"), f"{prefix}[quantity]")
            if unit_amount < 0 or quantity < 1:
                raise _ApiError(400, f"Invalid amount or quantity in {prefix}.", param=prefix)
            currencies.add(currency.lower())
            amount_total += unit_amount * quantity
            tax_behavior = price_data.get("tax_behavior", "unspecified")
            if tax_behavior not in (*_TAX_BEHAVIORS, "unspecified"):
                raise _ApiError(
                    400,
                    f"Invalid {prefix}[price_data][tax_behavior].",
                    param=f"{prefix}[price_data][tax_behavior]",
                )
            tax_code = product_data.get("tax_code")
            if tax_code is not None and not _TAX_CODE.match(str(tax_code)):
                raise _ApiError(
                    400,
                    f"Invalid tax code: {tax_code}.",
                    param=f"{prefix}[price_data][product_data][tax_code]",
                )
            lines_taxed.append((unit_amount * quantity, tax_behavior))
        if len(currencies) != 1:
            raise _ApiError(400, "All line items must use the same currency.", param="line_items")

        created = int(time.time())
        if params.get("expires_at"):
            expires_at = _integer(params["expires_at"], "expires_at")
            if self.enforce_expiry_window and not (
                created + MIN_EXPIRY_SECONDS <= expires_at <= created + MAX_EXPIRY_SECONDS
            ):
                raise _ApiError(
                    400,
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours "
                    "after the Checkout Session is created.",
                    param="expires_at",
                )
        else:
            expires_at = created + MAX_EXPIRY_SECONDS

        automatic_tax = str((params.get("automatic_tax") or {}).get("enabled")).lower() == "true"
        # This fake's account has no default tax behaviour in its Tax settings, so each
        # price and shipping rate must say whether it includes tax.
        if automatic_tax and any(b == "unspecified" for _, b in lines_taxed):
            raise _ApiError(
                400,
                "Automatic tax needs tax_behavior on every price (no default is set).",
                param="line_items",
            )
        shipping = self._shipping_params(params, currencies, automatic_tax=automatic_tax)
        invoice_creation = params.get("invoice_creation") or {"enabled": "false"}
        if not isinstance(invoice_creation, dict) or str(
            invoice_creation.get("enabled")
        ).lower() not in ("true", "false"):
            raise _ApiError(400, "Invalid boolean", param="invoice_creation[enabled]")
        discounts, amount_discount = self._discounts(params, currencies, amount_total)
        shipping["total_details"] = {
            **shipping["total_details"],
            "amount_discount": amount_discount,
        }
        session_id = f"cs_test_{_random_id(58)}"
        session: dict[str, Any] = {
            **shipping,
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.url}/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "mode": "payment",
            "amount_subtotal": amount_total,
            "amount_total": amount_total - amount_discount,
            "discounts": discounts,
            "currency": currencies.pop(),
            "client_reference_id": params.get("client_reference_id") or None,
            "metadata": params.get("metadata") or {},
            "customer": None,
            "customer_email": params.get("customer_email") or None,
            "customer_details": None,
            "payment_intent": None,
            "automatic_tax": {
                "enabled": automatic_tax,
                "liability": {"type": "self"} if automatic_tax else None,
                "provider": "stripe" if automatic_tax else None,
                "status": "requires_location_inputs" if automatic_tax else None,
            },
            "invoice": None,
            "invoice_creation": {
                "enabled": str(invoice_creation.get("enabled")).lower() == "true",
                "invoice_data": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": None,
                    "footer": None,
                    "issuer": None,
                    "metadata": {},
                    "rendering_options": None,
                },
            },
            "expires_at": expires_at,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url") or None,
            "livemode": False,
            "created": created,
        }
        self.sessions[session_id] = session
        if automatic_tax:
            self.taxed_lines[session_id] = lines_taxed
        self.session_creations += 1
        return dict(session)

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = params.get("payment_intent")
        payment = self.payments.get(intent) if isinstance(intent, str) else None
        if payment is None:
            raise _ApiError(
                400,
                f"No such payment_intent: '{intent}'" if intent else "Missing payment_intent.",
                code="resource_missing" if intent else "parameter_missing",
                param="payment_intent",
            )
        left = (
            payment["amount"]
            - payment["amount_refunded"]
            - sum(
                r["amount"]
                for r in self.refunds.values()
                if r["payment_intent"] == intent and r["status"] == "pending"
            )
        )
        if left <= 0:
            raise _ApiError(
                400,
                f"Charge for payment_intent {intent} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _integer(params["amount"], "amount") if "amount" in params else left
        if amount <= 0 or amount > left:
            raise _ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large" if amount > 0 else "parameter_invalid_integer",
                param="amount",
            )
        reason = params.get("reason") or None
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise _ApiError(400, f"Invalid reason: {reason}", param="reason")
        refund = {
            "id": f"re_{_random_id()}",
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": f"ch_{intent.removeprefix('pi_')}",
            "created": int(time.time()),
            "currency": payment["currency"],
            "destination_details": None,
            "failure_reason": None,
            "metadata": params.get("metadata") or {},
            "payment_intent": intent,
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": self.refund_status,
            "transfer_reversal": None,
        }
        if refund["status"] == "succeeded":
            payment["amount_refunded"] += amount
        self.refunds[refund["id"]] = refund
        self.refund_creations += 1
        return refund

    def _create_coupon(self, params: dict[str, Any]) -> dict[str, Any]:
        """A coupon as Stripe makes one: exactly one of percent_off and amount_off (with
        its currency); duration once, repeating or forever."""
        percent, amount = params.get("percent_off"), params.get("amount_off")
        if (percent is None) == (amount is None):
            raise _ApiError(
                400, "You must pass exactly one of percent_off or amount_off.", param="percent_off"
            )
        duration = params.get("duration", "once")
        if duration not in ("once", "repeating", "forever"):
            raise _ApiError(400, "Invalid duration.", param="duration")
        coupon: dict[str, Any] = {
            "id": params.get("id") or _random_id(8),
            "object": "coupon",
            "amount_off": None,
            "currency": None,
            "percent_off": None,
            "duration": duration,
            "duration_in_months": None,
            "max_redemptions": None,
            "redeem_by": None,
            "times_redeemed": 0,
            "valid": True,
            "name": params.get("name") or None,
            "metadata": params.get("metadata") or {},
            "livemode": False,
            "created": int(time.time()),
        }
        if percent is not None:
            try:
                value = float(percent)
            except (TypeError, ValueError):
                raise _ApiError(400, "Invalid decimal: percent_off.", param="percent_off") from None
            if not 0 < value <= 100:
                raise _ApiError(400, "percent_off must be between 0 and 100.", param="percent_off")
            coupon["percent_off"] = value
        else:
            if not params.get("currency"):
                raise _ApiError(
                    400,
                    "Missing required param: currency.",
                    code="parameter_missing",
                    param="currency",
                )
            coupon["amount_off"] = _integer(amount, "amount_off")
            coupon["currency"] = str(params["currency"]).lower()
        if coupon["id"] in self.coupons:
            raise _ApiError(400, "Coupon already exists.", code="resource_already_exists")
        self.coupons[coupon["id"]] = coupon
        return coupon

    def _discounts(
        self, params: dict[str, Any], currencies: set[str], subtotal: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A session's ``discounts`` (one coupon, as Checkout allows) and what it takes off
        the line items: a percentage rounded half up, an amount up to the subtotal."""
        requested = params.get("discounts") or []
        if not isinstance(requested, list) or len(requested) > 1:
            raise _ApiError(400, "You may only specify one discount.", param="discounts")
        if not requested:
            return [], 0
        coupon_id = requested[0].get("coupon") if isinstance(requested[0], dict) else None
        coupon = self.coupons.get(coupon_id) if isinstance(coupon_id, str) else None
        if coupon is None:
            raise _ApiError(
                400, f"No such coupon: '{coupon_id}'", code="resource_missing", param="discounts"
            )
        if coupon["percent_off"] is not None:
            exact = subtotal * coupon["percent_off"] / 100
            discount = min(subtotal, int(exact + 0.5))
        else:
            if coupon["currency"] not in currencies:
                raise _ApiError(
                    400, "The coupon's currency is not the session's.", param="discounts"
                )
            discount = min(subtotal, coupon["amount_off"])
        return [{"coupon": coupon["id"], "promotion_code": None}], discount

    def _shipping_params(
        self, params: dict[str, Any], currencies: set[str], *, automatic_tax: bool = False
    ) -> dict[str, Any]:
        """shipping_address_collection, shipping_options and phone_number_collection as a
        session reports them; each shipping_rate_data becomes a ShippingRate (shr_...)."""
        collection = params.get("shipping_address_collection")
        options = params.get("shipping_options") or []
        phone = params.get("phone_number_collection") or {}
        reported: dict[str, Any] = {
            "shipping_address_collection": None,
            "shipping_options": [],
            "shipping_cost": None,
            "collected_information": None,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "phone_number_collection": {"enabled": str(phone.get("enabled")).lower() == "true"},
        }
        if collection is not None:
            allowed = collection.get("allowed_countries") if isinstance(collection, dict) else None
            if not isinstance(allowed, list) or not allowed:
                raise _ApiError(
                    400,
                    "Missing required param: shipping_address_collection[allowed_countries].",
                    code="parameter_missing",
                    param="shipping_address_collection[allowed_countries]",
                )
            reported["shipping_address_collection"] = {"allowed_countries": allowed}
        if not isinstance(options, list) or len(options) > 5:
            raise _ApiError(
                400, "You may pass at most 5 shipping_options.", param="shipping_options"
            )
        for index, option in enumerate(options):
            prefix = f"shipping_options[{index}][shipping_rate_data]"
            data = option.get("shipping_rate_data") if isinstance(option, dict) else None
            fixed = data.get("fixed_amount") if isinstance(data, dict) else None
            if (
                not isinstance(fixed, dict)
                or data.get("type", "fixed_amount") != "fixed_amount"
                or not data.get("display_name")
            ):
                raise _ApiError(400, f"Invalid {prefix}.", param=prefix)
            amount = _integer(fixed.get("amount"), f"{prefix}[fixed_amount][amount]")
            if amount < 0 or str(fixed.get("currency", "")).lower() not in currencies:
                raise _ApiError(400, f"Invalid {prefix}[fixed_amount].", param=prefix)
            estimate = data.get("delivery_estimate") or {}
            tax_behavior = data.get("tax_behavior", "unspecified")
            if tax_behavior not in (*_TAX_BEHAVIORS, "unspecified") or (
                automatic_tax and tax_behavior == "unspecified"
            ):
                raise _ApiError(400, f"Invalid {prefix}[tax_behavior].", param=prefix)
            rate_id = f"shr_{_random_id()}"
            self.shipping_rates[rate_id] = {
                "id": rate_id,
                "object": "shipping_rate",
                "active": True,
                "display_name": data["display_name"],
                "type": "fixed_amount",
                "fixed_amount": {"amount": amount, "currency": fixed["currency"].lower()},
                "delivery_estimate": {
                    end: {
                        "unit": bound.get("unit"),
                        "value": _integer(bound.get("value"), f"{prefix}[delivery_estimate]"),
                    }
                    for end, bound in estimate.items()
                    if isinstance(bound, dict)
                }
                or None,
                "metadata": data.get("metadata") or {},
                "tax_behavior": tax_behavior,
                "livemode": False,
            }
            reported["shipping_options"].append(
                {"shipping_amount": amount, "shipping_rate": rate_id}
            )
        return reported

    def _pay_page(self, session_id: str) -> _Response:
        # Only so a browser following the session URL sees something sensible.
        with self._lock:
            session = self.sessions.get(session_id)
        text = (
            f"Fake Stripe Checkout for {session_id}: {session['status']}"
            if session
            else f"No such session {session_id}"
        )
        body = f"<!doctype html><title>Fake Stripe</title><p>{html.escape(text)}</p>"
        return _Response(
            200 if session else 404,
            body.encode(),
            (("Content-Type", "text/html; charset=utf-8"),),
        )


class _Abandon(Exception):
    """The server is stopping while a request sleeps: drop it without an answer."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripe

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) is expected; anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0 closes each connection after its response, so no pooled
    # connection outlives refuse_connections().
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            response = self.server.fake._handle(self.command, self.path, headers, body)
        except _Abandon:
            return
        self.send_response(response.status)
        header_names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-type" not in header_names:
            self.send_header("Content-Type", "application/json")
        if "request-id" not in header_names:
            self.send_header("Request-Id", f"req_{_random_id(14)}")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # Tests read fake.requests instead of a stderr access log.
        pass


def _parse_form(encoded: str) -> dict[str, Any]:
    """Parse Stripe's form encoding (``a[b][0][c]=v``) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        head, bracket, rest = key.partition("[")
        segments = [head, *_KEY_SEGMENT.findall(bracket + rest)]
        node = root
        for segment in segments[:-1]:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {}
            node = child
        # An empty last segment ("expand[]=x") appends.
        node[segments[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    # Numeric keys ("line_items[0]...") and "[]" appends become lists.
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _integer(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Invalid integer: {value}", param=param) from None


def _api_key_from(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials).decode()
        except ValueError:
            return None
        return decoded.partition(":")[0] or None
    return None


def _mask(key: str) -> str:
    prefix = key[: key.find("_", 3) + 1] if key.count("_") >= 2 else ""
    return f"{prefix}{'*' * 12}{key[-4:]}"


def _random_id(length: int = 24) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _json_response(status: int, payload: dict[str, Any]) -> _Response:
    return _Response(status, json.dumps(payload, indent=2).encode())


def _error_response(error: _ApiError) -> _Response:
    return _json_response(error.status, {"error": error.payload})


def _replay(
    stored: _StoredIdempotentResult,
    method: str,
    path: str,
    params: dict[str, Any],
    idempotency_key: str,
) -> _Response:
    if (stored.method, stored.path, stored.params) != (method, path, params):
        return _error_response(
            _ApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters "
                f"they were first used with. Try a key other than '{idempotency_key}' "
                "if you meant to execute a different request.",
                error_type="idempotency_error",
            )
        )
    original = stored.response
    return _Response(
        original.status, original.body, (*original.headers, ("Idempotent-Replayed", "true"))
    )
