"""``make bench``: prepare the database, start the servers, measure every scenario, report.

Order of work: a fresh database with the small number of orders; the fake Stripe and
gunicorn; the read scenarios at that size; the database grown to the full size; every
scenario at the full size; worker memory; a py-spy profile of each scenario whose target
was missed; the report, printed and written to bench/results/<date>-<sha>.md. Every
scenario is bounded in time and in count.
"""

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import profile, scenarios
from bench.config import (
    BENCH_DIR,
    PROJECT_DIR,
    PYTHON,
    STRIPE_WEBHOOK_SECRET,
    BenchConfig,
    django_env,
)
from bench.database import database_recreate, server_facts
from bench.load import LoadResult, Request, send, wrk_available, wrk_run
from bench.report import (
    Measurement,
    Phase,
    Report,
    cpu_pressure,
    git_revision,
    machine_facts,
)
from bench.server import HOST, Gunicorn, StripeFake

RESULTS_DIR = BENCH_DIR / "results"
WARMUP_READS = 20  # enough for both workers to have rendered (and cached) the catalogue
WARMUP_WRITES = 10

_started = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _started:5.0f} s] {message}", flush=True)


def prepare(env: dict[str, str], *args: object) -> dict:
    """One step of bench.prepare in a subprocess; its JSON summary."""
    completed = subprocess.run(
        [str(PYTHON), "-m", "bench.prepare", *map(str, args)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.prepare {args[0]} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def shopper_signed_in(port: int, session_key: str) -> scenarios.Shopper:
    """Load the shop page as the shopper, as a browser would, and keep its CSRF cookie."""
    response = send(HOST, port, Request("GET", "/", {"Cookie": f"sessionid={session_key}"}))
    cookie = re.search(r"csrftoken=([^;]+)", response.headers.get("Set-Cookie", ""))
    field = _CSRF_FIELD.search(response.body)
    if response.status != 200 or cookie is None or field is None:
        raise RuntimeError(f"GET / as the shopper answered {response.status} without a CSRF token")
    if b"Signed in as" not in response.body or b"data-order-status" not in response.body:
        raise RuntimeError("GET / does not show the shopper signed in with orders")
    return scenarios.Shopper(session_key, cookie.group(1), field.group(1).decode())


class Runner:
    def __init__(self, config: BenchConfig, server: Gunicorn) -> None:
        self.config, self.server = config, server

    def _warm_up(self, scenario: scenarios.Scenario) -> None:
        for request in scenario.warmup:
            response = send(HOST, self.server.port, request)
            if response.status != scenario.expect_status:
                raise RuntimeError(
                    f"{scenario.key}: warm-up {request.method} {request.path} answered "
                    f"{response.status}, not {scenario.expect_status}: {response.body[:300]!r}"
                )

    def _load(self, scenario: scenarios.Scenario) -> LoadResult:
        return wrk_run(
            host=HOST,
            port=self.server.port,
            requests=scenario.requests,
            limit=scenario.limit(self.config.max_requests, self.config.connections),
            duration=self.config.duration,
            connections=self.config.connections,
            expect_status=scenario.expect_status,
            expect_body=scenario.expect_body,
            data_path=self.config.work_dir / f"{scenario.key}.wrk",
        )

    def measure(self, scenario: scenarios.Scenario, *, orders: int) -> Measurement:
        self._warm_up(scenario)
        cpu_before = self.server.worker_cpu_seconds()
        result = self._load(scenario)
        cpu_ms = (self.server.worker_cpu_seconds() - cpu_before) * 1000 / max(1, result.requests)
        log(
            f"{scenario.title} at {orders:,} orders: {result.requests:,} requests, "
            f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
            f"queries {result.queries_mean}, worker CPU {cpu_ms:.1f} ms, errors {result.errors}"
        )
        return Measurement(scenario.key, scenario.title, orders, result, cpu_ms)

    def phase(self, orders: int, builders: list[Callable[[], scenarios.Scenario]]) -> Phase:
        # Built one at a time, just before running: webhook signatures expire in 5 minutes.
        return Phase(orders, [self.measure(build(), orders=orders) for build in builders])

    def _profiled(self, scenario: scenarios.Scenario, *, cpu: bool) -> profile.Profile:
        self._warm_up(scenario)
        pids, work = self.server.worker_pids(), self.config.work_dir
        recorders = profile.start(pids, self.config.duration, work, cpu=cpu)
        self._load(scenario)
        return profile.finish(recorders)

    def profile(self, first: scenarios.Scenario, second: scenarios.Scenario | None = None) -> str:
        """The scenario twice more under py-spy (wall clock, then GIL-holding CPU).

        ``second``: different requests for the CPU pass, where each may be sent only once.
        """
        wall = self._profiled(first, cpu=False)
        cpu = self._profiled(second or first, cpu=True)
        log(f"profiled {first.title}: {wall.samples:,} + {cpu.samples:,} samples")
        return profile.markdown(first.title, wall, cpu)


# Enough that the stock checkout never sells out: every request holds at most 9 units.
BENCH_STOCK_UNITS = 1_000_000


def checkout_with_stock_tracked(env, shopper, products, *, count: int, warmup: int):
    """The same carts as the checkout scenario, with every product's stock tracked: each Buy
    then locks its products' rows and counts what is held and sold."""
    prepare(env, "stock", "--units", BENCH_STOCK_UNITS)
    return scenarios.checkout(
        shopper,
        products,
        count=count,
        warmup=warmup,
        key="checkout_stock",
        title="POST /checkout/ (fake Stripe), stock tracked",
    )


def main() -> int:
    config = BenchConfig.from_env()
    config.validate()
    if not wrk_available():
        raise SystemExit("wrk is needed: apt-get install wrk (make bench installs it).")
    work = config.work_dir
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    sha, dirty = git_revision()
    machine = machine_facts(server_facts(config))
    load_before, pressure_before = os.getloadavg(), cpu_pressure()
    env = django_env(config)
    preparation: dict[str, dict] = {}

    log(f"database {config.database}: created fresh, {config.small_orders:,} orders")
    database_recreate(config)
    preparation["create"] = created = prepare(
        env, "create", "--orders", config.small_orders, "--shopper-orders", config.shopper_orders
    )
    explained = [prepare(env, "explain")["explain"]]
    pending_count = config.webhook_events + 1  # the last one is delivered again and again
    reads, writes = WARMUP_READS, WARMUP_WRITES
    secret = STRIPE_WEBHOOK_SECRET

    with StripeFake(env, work / "stripe-fake.log") as stripe:
        server_env = django_env(config, stripe_api_base=stripe.url)
        with Gunicorn(server_env, workers=config.workers, log_path=work / "gunicorn.log") as server:
            log(f"gunicorn on {HOST}:{server.port}, workers {server.worker_pids()}")
            runner = Runner(config, server)
            shopper = shopper_signed_in(server.port, created["session_key"])
            memory_at_start = server.worker_memory()
            small = runner.phase(
                created["orders"],
                [
                    lambda: scenarios.ceiling(warmup=reads),
                    lambda: scenarios.shop_anonymous(warmup=reads),
                    lambda: scenarios.shop_shopper(shopper, warmup=reads),
                    lambda: scenarios.orders_shopper(shopper, warmup=reads),
                ],
            )

            target = max(config.small_orders, config.orders - pending_count)
            log(f"growing the database to {target + pending_count:,} orders")
            preparation["grow"] = prepare(env, "grow", "--orders", target)
            pending_path = work / "pending.json"
            preparation["pending"] = grown = prepare(
                env, "pending", "--count", pending_count, "--out", pending_path
            )
            pending = json.loads(pending_path.read_text())
            explained.append(prepare(env, "explain")["explain"])
            products = created["product_ids"]
            full = runner.phase(
                grown["orders"],
                [
                    lambda: scenarios.ceiling(warmup=reads),
                    lambda: scenarios.shop_anonymous(warmup=reads),
                    lambda: scenarios.shop_shopper(shopper, warmup=reads),
                    lambda: scenarios.orders_shopper(shopper, warmup=reads),
                    lambda: scenarios.checkout(
                        shopper, products, count=config.checkouts, warmup=writes
                    ),
                    lambda: checkout_with_stock_tracked(
                        env, shopper, products, count=config.checkouts, warmup=writes
                    ),
                    lambda: scenarios.webhook_distinct(pending[:-1], secret, warmup=writes),
                    lambda: scenarios.webhook_duplicate(pending[-1], secret, warmup=writes),
                    lambda: scenarios.ceiling(warmup=0),
                ],
            )
            memory = server.worker_memory()
            load_after, pressure_after = os.getloadavg(), cpu_pressure()

            report = Report(
                config=config,
                started=started,
                sha=sha,
                dirty=dirty,
                machine=machine,
                load_before=load_before,
                load_after=load_after,
                pressure_before=pressure_before,
                pressure_after=pressure_after,
                small=small,
                full=full,
                memory=memory,
                memory_at_start=memory_at_start,
                preparation=preparation,
                explained=explained,
                total_seconds=0.0,
            )
            profiles: list[str] = []
            missed = report.missed_scenarios()
            if missed and not profile.available():
                profiles.append("py-spy is not installed: `pip install -r bench/requirements.txt`.")
                missed = set()
            if "shop_shopper" in missed:
                profiles.append(runner.profile(scenarios.shop_shopper(shopper, warmup=reads)))
            if "webhook_distinct" in missed:
                # Fresh pending orders: the measured run paid the first ones.
                more = work / "pending-profile.json"
                prepare(env, "pending", "--count", config.webhook_events, "--out", more)
                events = json.loads(more.read_text())
                half = len(events) // 2
                profiles.append(
                    runner.profile(
                        scenarios.webhook_distinct(events[:half], secret, warmup=writes),
                        scenarios.webhook_distinct(events[half:], secret, warmup=writes),
                    )
                )

    report = report.finished(profiles=profiles, total_seconds=time.monotonic() - _started)
    RESULTS_DIR.mkdir(exist_ok=True)
    path: Path = RESULTS_DIR / report.filename
    path.write_text(report.markdown())
    for part in (
        report.table(),
        report.targets_table(),
        report.growth_table(),
        report.explain_table(),
    ):
        print(f"\n{part}")
    print(f"\n{report.memory_table()}\n")
    log(f"written to {path.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
