"""Prepares the bench database: a fresh schema, the seeded shop, the shopper and many orders.

Run by ``bench.run`` in a subprocess with the bench settings, one step at a time::

    python -m bench.prepare create --orders 1000 --shopper-orders 500
    python -m bench.prepare grow --orders 100000
    python -m bench.prepare pending --count 6000 --out pending.json

Orders go in with COPY in batches of 5,000 (never through HTTP), shaped as the purchase
loop leaves them: 1–3 snapshotted lines, mostly paid, spread over a year. Each step prints
one JSON line describing what it made.
"""

import argparse
import datetime as dt
import io
import itertools
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import django
from psycopg2 import sql

django.setup()

from django.conf import settings  # noqa: E402  (after django.setup())
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from shop.models import Order, OrderLine, Product  # noqa: E402
from shop.models.orders import REFERENCE_ALPHABET, REFERENCE_LENGTH, reference_format  # noqa: E402
from shop.models.pages import RECENT_ORDERS_ON_PAGE  # noqa: E402
from shop.shoppers import Shopper  # noqa: E402

SHOPPER_USERNAME = "bench-shopper"
SHOPPER_EMAIL = "bench-shopper@example.com"
OTHER_SHOPPERS = 2_000
GUEST_SHARE = 0.2  # of other shoppers' orders: made by guests, not accounts
GUEST_TOKENS = 5_000
BATCH = 5_000
HISTORY = dt.timedelta(days=365)

# What a year of orders looks like: mostly paid, a few of every other outcome.
STATUS_WEIGHTS = {
    Order.Status.PAID: 85,
    Order.Status.REFUNDED: 4,
    Order.Status.FAILED: 3,
    Order.Status.CANCELED: 3,
    Order.Status.EXPIRED: 3,
    Order.Status.PENDING: 2,
}


def _reference(index: int) -> str:
    """A unique reference per index: an odd multiplier permutes 0..32**8-1, so no collisions."""
    value = (index * 0x9E3779B1) % (len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    chars = []
    for _ in range(REFERENCE_LENGTH):
        value, digit = divmod(value, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    return reference_format("".join(chars))


@dataclass(frozen=True)
class Owner:
    user_id: int | None
    guest_token: str


_PAID = {Order.Status.PAID, Order.Status.REFUNDED}
_STATUSES = list(STATUS_WEIGHTS)
_CUMULATIVE_WEIGHTS = list(itertools.accumulate(STATUS_WEIGHTS.values()))


class OrderMaker:
    """Builds order rows (by column) and their lines, shaped by a seeded random generator."""

    def __init__(self, *, seed: int, first_index: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + first_index)
        self.index = first_index
        self.products = list(Product.objects.for_sale())
        self.now = timezone.now()
        if not self.products:
            raise SystemExit("No products for sale: did seed_shop run?")

    def make(
        self, owner: Owner, *, status: str | None = None, age: dt.timedelta | None = None
    ) -> tuple[dict, list[tuple[Product, int]]]:
        rng = self.rng
        self.index += 1
        status = status or rng.choices(_STATUSES, cum_weights=_CUMULATIVE_WEIGHTS)[0]
        created = self.now - (age if age is not None else HISTORY * rng.random())
        chosen = rng.sample(self.products, rng.randint(1, min(3, len(self.products))))
        lines = [(product, rng.randint(1, 3)) for product in chosen]
        paid = status in _PAID
        settled = created + dt.timedelta(minutes=2)
        order = {
            "reference": _reference(self.index),
            "status": status,
            "currency": chosen[0].currency,
            "amount_total": sum(product.unit_amount * qty for product, qty in lines),
            "checkout_token": uuid.uuid4(),
            "payment_session_id": f"cs_bench_{self.index:09d}_{rng.getrandbits(48):012x}",
            "session_expires_at": created + dt.timedelta(minutes=31),
            "payment_id": f"pi_bench_{self.index:09d}" if paid else "",
            "customer_email": f"shopper{self.index}@example.com" if paid else "",
            "user_id": owner.user_id,
            "guest_token": owner.guest_token,
            "awaiting_confirmation_since": settled if status != Order.Status.PENDING else None,
            "site_origin": "",
            "confirmation_claimed_until": None,
            "confirmation_emailed_at": settled if paid else None,
            "payment_declined_at": None,
            "decline_reason": "",
            "oversold": False,
            "created_at": created,
            "paid_at": settled if paid else None,
            "updated_at": settled,
        }
        return order, lines


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _copy_line(row: tuple) -> str:
    """One row in COPY's text format (inlined: it runs for every one of 100,000s of rows)."""
    return "\t".join(
        [
            "\\N"
            if value is None
            else value.isoformat()
            if isinstance(value, dt.datetime)
            else _escape(str(value))
            for value in row
        ]
    )


def _copy(cursor, model, columns: list[str], rows: list[tuple]) -> None:
    data = io.StringIO("\n".join(map(_copy_line, rows)) + "\n")
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor.cursor.copy_expert(statement.as_string(cursor.cursor), data)


ORDER_COLUMNS = [field.column for field in Order._meta.concrete_fields]
# Lines of untracked products hold nothing: the hold columns stay empty (NULL) but this one.
LINE_COLUMNS = [
    "order_id",
    "product_id",
    "product_name",
    "unit_amount",
    "currency",
    "quantity",
    "held_quantity",
]


def _insert(batch: list[tuple[dict, list]]) -> None:
    """A batch of orders and their lines with COPY, in one transaction.

    Ids come from the table's own sequence, so the app's later inserts follow on.
    """
    missing = set(ORDER_COLUMNS) - {"id"} - set(batch[0][0])
    if missing:
        raise SystemExit(f"bench/prepare.py does not fill Order columns {sorted(missing)}.")
    with transaction.atomic(), connection.cursor() as cursor:
        # One block of ids; nothing else writes orders while the bench prepares.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
            " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [Order._meta.db_table, Order._meta.db_table, len(batch)],
        )
        last = cursor.fetchone()[0]
        for order_id, (order, _) in enumerate(batch, start=last - len(batch) + 1):
            order["id"] = order_id
        _copy(cursor, Order, ORDER_COLUMNS, [tuple(o[c] for c in ORDER_COLUMNS) for o, _ in batch])
        _copy(
            cursor,
            OrderLine,
            LINE_COLUMNS,
            [
                (
                    order["id"],
                    product.pk,
                    product.name,
                    product.unit_amount,
                    product.currency,
                    qty,
                    0,
                )
                for order, lines in batch
                for product, qty in lines
            ],
        )


def _insert_all(items: Iterator) -> int:
    batch, count = [], 0
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            _insert(batch)
            count += len(batch)
            batch = []
    if batch:
        _insert(batch)
        count += len(batch)
    return count


def _next_index() -> int:
    # Past every id so far, so references made from it never repeat an earlier one.
    return (Order.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _other_owners(rng: random.Random) -> Iterator[Owner]:
    user_ids = list(
        get_user_model()
        .objects.filter(username__startswith="bench-user-")
        .values_list("pk", flat=True)
    )
    while True:
        if rng.random() < GUEST_SHARE or not user_ids:
            yield Owner(None, f"bench-guest-{rng.randrange(GUEST_TOKENS):05d}")
        else:
            yield Owner(rng.choice(user_ids), "")


def _shopper():
    return get_user_model().objects.get(username=SHOPPER_USERNAME)


def _analyze() -> None:
    # Fresh statistics, as autovacuum would have them on a database that grew slowly.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _shopper_session(user) -> str:
    """A logged-in session for the shopper, as django.contrib.auth.login() would store it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def create(*, orders: int, shopper_orders: int) -> dict:
    """Schema, seeded shop, static files, shopper and other accounts, the first ``orders``."""
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_shop", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    users = get_user_model()
    shopper = users.objects.create_user(SHOPPER_USERNAME, SHOPPER_EMAIL, password=None)
    unusable = make_password(None)  # nobody logs in as them; they only own orders
    users.objects.bulk_create(
        users(username=f"bench-user-{i:05d}", email=f"user{i}@example.com", password=unusable)
        for i in range(OTHER_SHOPPERS)
    )
    maker = OrderMaker(seed=1, first_index=_next_index())
    mine = Owner(shopper.pk, "")
    others = _other_owners(maker.rng)
    owners = [mine] * shopper_orders + [next(others) for _ in range(orders - shopper_orders)]
    # Shuffled so the shopper's orders are interleaved with everyone else's in id order too.
    maker.rng.shuffle(owners)
    _insert_all(maker.make(owner) for owner in owners)
    _analyze()
    return {
        "session_key": _shopper_session(shopper),
        "product_ids": list(Product.objects.for_sale().values_list("pk", flat=True)),
    }


def grow(*, orders: int) -> dict:
    """Other shoppers' orders until the database holds ``orders``."""
    missing = orders - Order.objects.count()
    if missing > 0:
        maker = OrderMaker(seed=2, first_index=_next_index())
        others = _other_owners(maker.rng)
        _insert_all(maker.make(next(others)) for _ in range(missing))
        _analyze()
    return {}


def pending(*, count: int, out: Path) -> dict:
    """``count`` orders waiting for payment with open sessions, for webhook events to settle."""
    maker = OrderMaker(seed=3, first_index=_next_index())
    others = _other_owners(maker.rng)
    made = [
        maker.make(next(others), status=Order.Status.PENDING, age=dt.timedelta(minutes=1))
        for _ in range(count)
    ]
    for order, _ in made:
        order["customer_email"] = ""  # learnt from the payment, as with Stripe
    _insert_all(iter(made))
    out.write_text(
        json.dumps(
            [
                {
                    "session_id": order["payment_session_id"],
                    "reference": order["reference"],
                    "amount_total": order["amount_total"],
                    "currency": order["currency"],
                    "expires_at": int(order["session_expires_at"].timestamp()),
                }
                for order, _ in made
            ]
        )
    )
    return {"pending": count}


def _plan(node: dict) -> str:
    """Node types (and indexes) top-down: "Limit > Index Scan (order_user_recent)"."""
    name = node["Node Type"] + (f" ({node['Index Name']})" if "Index Name" in node else "")
    children = [_plan(child) for child in node.get("Plans", [])]
    return " > ".join([name, *children[:1]]) + ("" if len(children) < 2 else " …")


def _count_sql(queryset) -> tuple[str, tuple]:
    """The COUNT(*) the paginator of /orders/ runs, as SQL."""
    statement, params = queryset.order_by().values("pk").query.sql_with_params()
    # Our own ORM-generated SQL, parameters passed separately.
    return f"SELECT COUNT(*) FROM ({statement}) AS counted", params  # noqa: S608


def _json_value(value):
    return json.loads(value) if isinstance(value, str) else value


def explain() -> dict:
    """EXPLAIN ANALYZE of the shopper's order queries, as the shop page and /orders/ run them.

    Timing that other processes on the machine cannot disturb much: the database's own
    execution time, and whether it reads an index or the whole table.
    """
    shopper = Shopper(user_id=_shopper().pk, guest_token=None)
    orders = Order.objects.history_of(shopper)
    recent = orders[: RECENT_ORDERS_ON_PAGE + 1]
    ids = list(recent.values_list("pk", flat=True))
    queries = {
        "recent orders (shop page)": recent.query.sql_with_params(),
        "their lines (shop page)": (
            OrderLine.objects.filter(order_id__in=ids).order_by("pk").query.sql_with_params()
        ),
        "count (/orders/ pages)": _count_sql(orders),
    }
    found = {}
    with connection.cursor() as cursor:
        for name, (statement, params) in queries.items():
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params)
            root = _json_value(cursor.fetchone()[0])[0]
            found[name] = {"ms": root["Execution Time"], "plan": _plan(root["Plan"])}
    return {"explain": found}


def stock(*, units: int | None) -> dict:
    """Track every product's stock at ``units`` (None: stop tracking), as an editor would set it."""
    # The checkout scenario holds up to 3 units of up to 3 products per request.
    Product.objects.update(stock=units)
    return {"stock": units}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare")
    steps = parser.add_subparsers(dest="step", required=True)
    create_args = steps.add_parser("create")
    create_args.add_argument("--orders", type=int, required=True)
    create_args.add_argument("--shopper-orders", type=int, required=True)
    grow_args = steps.add_parser("grow")
    grow_args.add_argument("--orders", type=int, required=True)
    pending_args = steps.add_parser("pending")
    pending_args.add_argument("--count", type=int, required=True)
    pending_args.add_argument("--out", type=Path, required=True)
    steps.add_parser("explain")
    stock_args = steps.add_parser("stock")
    stock_args.add_argument("--units", type=int, default=None, help="omit: not tracked")
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.step == "create":
        made = create(orders=args.orders, shopper_orders=args.shopper_orders)
    elif args.step == "grow":
        made = grow(orders=args.orders)
    elif args.step == "explain":
        made = explain()
    elif args.step == "stock":
        made = stock(units=args.units)
    else:
        made = pending(count=args.count, out=args.out)
    made.update(
        orders=Order.objects.count(),
        lines=OrderLine.objects.count(),
        shopper_orders=Order.objects.filter(user=_shopper()).count(),
        seconds=round(time.monotonic() - started, 1),
    )
    print(json.dumps(made))


if __name__ == "__main__":
    main(sys.argv[1:])
