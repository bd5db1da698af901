"""``make bench``: the shop under gunicorn against its ceiling, in one run; see bench/README.md.

A fresh PostgreSQL database; gunicorn (2 sync workers, production settings plus plain HTTP)
started with the tests' AppServer; the fake Stripe in this process. Each phase runs the
ceiling first and last with the scenarios between, at 1,000 orders (plus pending ones for
the webhooks) and again once ``create_orders`` has grown the data. The table goes to
bench/results/<date>-<sha>.md.
"""

import datetime as dt
import http.client
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
POSTGRES = urlsplit(os.environ.get("BENCH_POSTGRES") or "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE") or "storefront_bench"
DURATION = int(os.environ.get("BENCH_DURATION") or 5)  # seconds per scenario
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS") or 4)
ORDERS = int(os.environ.get("BENCH_ORDERS") or 100_000)
EVENTS = int(os.environ.get("BENCH_EVENTS") or 1_000_000)
# Production's cache: the database's when empty, else e.g. redis://127.0.0.1:6379/9.
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "")
SMALL = 1_000  # orders (and events) of the first phase
SHOPPERS = {"few@example.com": 10, "many@example.com": 500}
UNIQUE = 600 * DURATION  # fresh requests prepared per webhook/checkout scenario
SECRET = "whsec_bench_only"  # noqa: S105  (throwaway: loopback, fake Stripe)

sys.path.insert(0, str(ROOT))
from tests.support.servers import HOST, AppServer, ServerDatabase, server_environment  # noqa: E402
from tests.support.stripe_fake import FakeStripe  # noqa: E402


def log(message: str) -> None:
    print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} {message}", flush=True)


@dataclass
class Scenario:
    title: str
    requests: list[tuple[str, str, dict, bytes]]  # method, path, headers, body
    status: int = 200
    unique: bool = False  # each request is sent once: the first two are kept for EXPLAIN


@dataclass
class Row:
    title: str
    orders: int
    rps: float
    p50: float
    p99: float
    cpu_ms: float
    queries: float
    writes: float
    errors: int
    ratio: float = 0.0


def get(path: str, cookie: str = "") -> Scenario:
    return Scenario("", [("GET", path, {"Cookie": cookie} if cookie else {}, b"")])


def raw(request: tuple[str, str, dict, bytes], host: str) -> bytes:
    method, path, headers, body = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: text/html"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def worker_cpu(server: AppServer) -> float:
    """User + system seconds the gunicorn workers have used, from /proc/<pid>/stat."""
    total = 0
    for pid in server.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def worker_rss(server: AppServer) -> list[int]:
    """Each worker's resident memory in MiB, from /proc/<pid>/status."""
    sizes = []
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) // 1024)
    return sizes


def measure(server: AppServer, scenario: Scenario, orders: int) -> Row:
    """Warm up (sequential, checked), then wrk for DURATION s; one row of the table."""
    requests = scenario.requests[2:] if scenario.unique else scenario.requests
    warm, requests = (
        (requests[:10], requests[10:]) if scenario.unique else (requests * 10, requests)
    )
    for method, path, headers, body in warm:
        answer = http_send(server.port, method, path, headers, body)
        if answer != scenario.status:
            raise RuntimeError(f"{scenario.title}: warm-up {path} answered {answer}")
    data = WORK / "requests.wrk"
    with data.open("wb") as out:
        for request in requests:
            record = raw(request, f"{HOST}:{server.port}")
            out.write(f"{len(record)}\n".encode() + record)
    limit = len(requests) - 2 * CONNECTIONS if scenario.unique else 10**9
    cpu = worker_cpu(server)
    script, url = ROOT / "bench" / "wrk.lua", f"http://{HOST}:{server.port}"
    command = f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s --timeout 30s -s {script} {url} --"
    command += f" {data} {limit} {scenario.status}"
    done = subprocess.run(command.split(), capture_output=True, text=True, check=True)
    cpu = worker_cpu(server) - cpu
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    r = json.loads(line[6:])
    n = max(1, r["requests"])
    rps, p50, p99 = r["requests"] / (r["us"] / 1e6), r["p50"] / 1e3, r["p99"] / 1e3
    errors = r["unexpected"] + r["errors"]
    q, w = r["queries"] / n, r["writes"] / n
    row = Row(scenario.title, orders, rps, p50, p99, cpu * 1e3 / n, q, w, errors)
    log(
        f"{row.title} at {orders:,} orders: {row.rps:,.0f} req/s, {row.cpu_ms:.1f} ms CPU, "
        f"{row.queries:.1f} queries ({row.writes:.1f} writes), {row.errors} errors"
    )
    return row


def http_send(port: int, method: str, path: str, headers: dict, body: bytes) -> int:
    """One request on its own connection (not following redirects); the status."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.request(method, path, body=body or None, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def explain(scenario: Scenario, port: int) -> str:
    """Run the path's request in this process twice; EXPLAIN what the second one queried."""
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=f"{HOST}:{port}")
    for method, path, headers, body in scenario.requests[:2] * (1 + (not scenario.unique)):
        kind = headers.get("Content-Type", "application/octet-stream")
        with CaptureQueriesContext(connection) as captured:
            client.generic(method, path, body, content_type=kind, headers=headers)
    statements = [q["sql"] for q in captured.captured_queries]
    explainable = [
        q for q in statements if q.lstrip()[:6].upper() in ("SELECT", "UPDATE", "DELETE")
    ]
    seq, forced, indexed = set(), set(), 0
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in explainable:
            indexed += len(scans(cursor, sql, "Index"))
            seq.update(scans(cursor, sql, "Seq Scan"))
        # Without sequential scans: what has no index the statement can use at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in explainable:
            forced.update(scans(cursor, sql, "Seq Scan"))
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [list(seq)]
        )
        rows = {name: max(0, int(count)) for name, count in cursor.fetchall()}
    said = f"{len(statements)} statements, {len(explainable)} explained: {indexed} index scans"
    if seq:
        said += "; sequential scans of " + ", ".join(
            f"`{t}` ({rows.get(t, '?'):,})" for t in sorted(seq)
        )
    if forced:
        return said + "; **no index fits** " + ", ".join(f"`{t}`" for t in sorted(forced))
    return said + ("; each becomes an index scan with `enable_seqscan` off" if seq else "")


def scans(cursor, sql: str, kind: str) -> list[str]:
    """The tables (or index names) of the plan's nodes whose type contains ``kind``."""
    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
    plan = cursor.fetchone()[0]
    nodes, found = [(json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        if kind in node["Node Type"]:
            found.append(node.get("Relation Name") or node.get("Index Name", "?"))
    return found


def webhooks(count: int) -> Scenario:
    """Signed ``checkout.session.completed`` for distinct pending orders, as Stripe sends them."""
    from shop.models import Order
    from tests.support.events import event, session_object, signature_for

    pending = Order.objects.filter(status=Order.Status.PENDING, paid_at=None).order_by("pk")
    requests = []
    for order in pending[:count]:
        body = json.dumps(event("checkout.session.completed", session_object(order))).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": signature_for(body, secret=SECRET),
        }
        requests.append(("POST", "/stripe/webhook/", headers, body))
    return Scenario("POST /stripe/webhook/ distinct paid events", requests, unique=True)


def checkouts(cookie: str, page_fields: dict, product_ids: list[int]) -> Scenario:
    """A Buy per request, a fresh checkout token each, 1–3 products: 303 to the fake Stripe."""
    requests = []
    for i in range(UNIQUE):
        chosen = product_ids[i % len(product_ids) :][: 1 + i % 3] or product_ids[:1]
        form = {**page_fields, "checkout_token": str(uuid.uuid4())}
        form.update({f"qty_{pk}": "1" for pk in chosen})
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        requests.append(("POST", "/checkout/", headers, urlencode(form).encode()))
    return Scenario(
        "POST /checkout/ (fake Stripe, stock tracked)", requests, status=303, unique=True
    )


def shoppers() -> dict[str, tuple[str, dict]]:
    """Each shopper's cookies (a signed-in session, CSRF) and the shop page's Buy form fields."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.support.shopper import hidden_fields_of

    found = {}
    for email in SHOPPERS:
        client = Client(HTTP_HOST=HOST)
        client.force_login(get_user_model().objects.get(username=email))
        fields = hidden_fields_of(client.get("/"))
        cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
        found[email] = (cookie, {k: v for k, v in fields.items() if k != "checkout_token"})
    return found


def phase(
    server: AppServer,
    cookies: dict,
    *,
    checkout: Scenario | None = None,
    explained: bool = False,
) -> tuple:
    from shop.models import Order, PaymentEvent

    few, many = cookies["few@example.com"][0], cookies["many@example.com"][0]
    orders, events = Order.objects.count(), PaymentEvent.objects.count()
    log(f"phase at {orders:,} orders, {events:,} payment events")
    scenarios = [
        ("ceiling: the shop page's bytes", get("/bench/ceiling/")),
        ("GET / anonymous", get("/")),
        ("GET / as a shopper with 10 orders", get("/", few)),
        ("GET / as a shopper with 500 orders", get("/", many)),
        ("GET /orders/ (10 orders)", get("/orders/", few)),
        ("GET /orders/ (500 orders)", get("/orders/", many)),
        ("", webhooks(UNIQUE)),
        *([("", checkout)] if checkout else []),
        ("ceiling: the shop page's bytes", get("/bench/ceiling/")),
    ]
    rows, plans = [], {}
    for title, scenario in scenarios:
        scenario.title = title or scenario.title
        rows.append(measure(server, scenario, orders))
        if explained and not scenario.title.startswith("ceiling"):
            plans[scenario.title] = explain(scenario, server.port)
    ceiling = [r.rps for r in rows if r.title.startswith("ceiling")]
    for row in rows:
        row.ratio = row.rps / (sum(ceiling) / len(ceiling))
    return rows, plans, (orders, events)


def create_orders(**options) -> None:
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    call_command("create_orders", **options, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"create_orders {options}: {time.monotonic() - started:.0f} s")


def main() -> int:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench does it).")
    WORK.mkdir(parents=True, exist_ok=True)
    started, load = dt.datetime.now(dt.UTC), os.getloadavg()
    database = ServerDatabase(
        name=DATABASE,
        host=POSTGRES.hostname,
        port=POSTGRES.port or 5432,
        user=POSTGRES.username or "postgres",
        password=POSTGRES.password or "",
    )
    database.drop()
    database.create()
    with FakeStripe() as stripe:
        env = server_environment(
            DJANGO_SETTINGS_MODULE="site_config.settings.bench",
            SECRET_KEY="bench-only-secret-key-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=database.url,
            CACHE_URL=CACHE_URL,
            PAYMENT_GATEWAY="stripe",
            STRIPE_SECRET_KEY="sk_test_bench",  # noqa: S106
            STRIPE_WEBHOOK_SECRET=SECRET,
            STRIPE_API_BASE=stripe.url,
            BENCH_WORK_DIR=str(WORK),
        )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        from shop.models import Product

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("seed_shop", stdout=io.StringIO())
        call_command("collectstatic", interactive=False, verbosity=0)
        Product.objects.update(stock=10_000_000)  # tracked, never sold out
        for email, count in SHOPPERS.items():
            create_orders(shopper_orders=count, shopper_email=email)
        # 1,000 orders and events, and as many pending orders as the webhooks can pay in
        # BENCH_DURATION: wrk times the whole duration even when the requests run out first.
        create_orders(orders=SMALL - sum(SHOPPERS.values()), events=SMALL, pending=UNIQUE)
        cookies = shoppers()
        products = list(Product.objects.for_sale().values_list("pk", flat=True))
        cookie, fields = cookies["many@example.com"]
        (WORK / "gunicorn.log").unlink(missing_ok=True)  # AppServer reads the port from it
        server = AppServer("bench", env=env, log_path=WORK / "gunicorn.log", threads=1).start()
        try:
            small, _, sizes = phase(server, cookies)
            create_orders(orders=ORDERS - SMALL - 2 * UNIQUE, events=EVENTS - SMALL, pending=UNIQUE)
            large, plans, large_sizes = phase(
                server, cookies, checkout=checkouts(cookie, fields, products), explained=True
            )
            rss = worker_rss(server)
        finally:
            server.stop()
    report = markdown(started, load, small + large, plans, rss, [sizes, large_sizes])
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    path = ROOT / "bench" / "results" / f"{started:%Y-%m-%d}-{sha}.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(report)
    print(report)
    log(f"written to {path.relative_to(ROOT)}")
    return 0


def change(a: float, b: float) -> str:
    return f"{(b - a) / a * 100:+.0f}%" if a else "–"


def _cache_words() -> str:
    if not CACHE_URL:
        return "the database's (`CACHE_URL` unset, production's default): one query a read"
    return f"`CACHE_URL={CACHE_URL}` (`BENCH_CACHE_URL`): cache reads are not queries"


def markdown(started, load, rows: list[Row], plans: dict, rss: list[int], sizes: list) -> str:
    from importlib.metadata import version

    def cells(r: Row) -> str:
        return (
            f"| {r.title} | {r.orders:,} | {r.rps:,.0f} | {r.p50:.1f} | {r.p99:.1f} | "
            f"{r.ratio:.2f}× | {r.cpu_ms:.1f} | {r.queries:.1f} | {r.writes:.1f} | {r.errors} |"
        )

    by = {(r.title, r.orders): r for r in rows}
    scale = []
    for title in dict.fromkeys(r.title for r in rows if not r.title.startswith("ceiling")):
        a, b = by.get((title, sizes[0][0])), by.get((title, sizes[1][0]))
        if a and b:
            scale.append(
                f"| {title} | {a.cpu_ms:.1f} ms, {a.queries:.1f} q, {a.ratio:.2f}× | "
                f"{b.cpu_ms:.1f} ms, {b.queries:.1f} q, {b.ratio:.2f}× | "
                f"{change(a.cpu_ms, b.cpu_ms)} |"
            )
    pairs = {
        "GET /": "GET / as a shopper with {} orders",
        "GET /orders/": "GET /orders/ ({} orders)",
    }
    for path, title in pairs.items():
        a, b = (by.get((title.format(n), sizes[1][0])) for n in (10, 500))
        if a and b:
            scale.append(
                f"| {path}, shopper with 10 vs 500 orders, at {sizes[1][0]:,} | "
                f"{a.cpu_ms:.1f} ms, {a.queries:.1f} q | {b.cpu_ms:.1f} ms, {b.queries:.1f} q | "
                f"{change(a.cpu_ms, b.cpu_ms)} |"
            )
    explained = "\n".join(f"| {t} | {p} |" for t, p in plans.items())
    ceilings = [
        " / ".join(f"{r.rps:,.0f}" for r in rows if r.orders == n and r.title.startswith("ceiling"))
        + f" at {n:,} orders"
        for n, _ in sizes
    ]
    versions = ", ".join(
        f"{p} {version(p)}" for p in ("Django", "wagtail", "gunicorn", "psycopg2-binary")
    )
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" Copyright")[
        0
    ]
    return f"""# Benchmark {started:%Y-%m-%d %H:%M} UTC

`make bench` ([bench/README.md](../README.md)) on {os.cpu_count()} cores shared with other
work (load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after: absolute figures
move with it; compare ratios and CPU within the run). Python {platform.python_version()},
{versions}; {wrk}.

- gunicorn `-c gunicorn.conf.py site_config.wsgi`, 2 sync workers, `site_config.settings.bench`
  (production's settings plus plain HTTP, no rate limits, the ceiling and a query-count
  header), PostgreSQL database `{DATABASE}`, created fresh; every product's stock tracked.
  Cache: {_cache_words()}.
- Each phase: the ceiling (the anonymous shop page's bytes, rendered once, returned by the
  same gunicorn) first and last, the scenarios between; × ceiling is req/s over the mean of
  the phase's two ceilings. wrk, 1 thread, {CONNECTIONS} connections, {DURATION} s per
  scenario after 10 sequential checked requests.
- Connections: wrk speaks HTTP/1.1 and would keep connections alive, but gunicorn's sync
  workers answer every response with `Connection: close`, so each request opens a new TCP
  connection (the ceiling pays for it too). Database connections persist across requests
  (`CONN_MAX_AGE` 60, production's default).
- CPU ms/req: user + system time of both workers (`/proc/<pid>/stat`) over the scenario per
  response (PostgreSQL's own CPU not included). Queries and writes (INSERT, UPDATE, DELETE
  among them): the `X-Bench-Queries`/`X-Bench-Writes` headers of every timed response, averaged.
- Webhooks: signed `checkout.session.completed` events, each paying a distinct pending order.
  Checkout: a fresh checkout token per Buy, 1–3 products, against the fake Stripe
  (`tests/support/stripe_fake.py`) in the runner's process.

| Scenario | Orders | Req/s | p50 ms | p99 ms | × ceiling | CPU ms/req | Queries | Writes | Errors |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
{chr(10).join(map(cells, rows))}

Ceiling first / last, req/s: {" and ".join(ceilings)} (the spread is the machine's other
load). Worker RSS after the run: {", ".join(f"{m} MiB" for m in rss)}.

## Cost against the data

{sizes[0][0]:,} orders and {sizes[0][1]:,} payment events, then {sizes[1][0]:,} orders and
{sizes[1][1]:,} events (worker CPU per request, queries, × ceiling; change in CPU):

| Path | small | large | change |
|---|---|---|--:|
{chr(10).join(scale)}

## EXPLAIN of each path's statements

At {sizes[1][0]:,} orders: every SELECT/UPDATE/DELETE of one request (the second of two sent
in the runner's process), explained; tables scanned sequentially with their rows (PostgreSQL
prefers that on small tables), then explained again with `enable_seqscan` off to show
whether an index fits (store settings, site, pages, products and shipping rates are the
shop's configuration, a few rows that do not grow with orders or events):

| Path | Statements |
|---|---|
{explained}
"""


if __name__ == "__main__":
    sys.exit(main())
