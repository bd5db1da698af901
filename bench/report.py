"""The results as a Markdown report: machine, method, the table, targets, memory, preparation."""

import datetime as dt
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

from bench.config import PROJECT_DIR, BenchConfig
from bench.load import LoadResult
from bench.profile import SAMPLE_RATE as profile_rate
from bench.server import WorkerMemory

# The targets of issue 7.
SHOP_PAGE_RATIO_TARGET = 0.5
SHOP_PAGE_QUERY_TARGET = 10
WEBHOOK_RATIO_TARGET = 0.5
# Issue 13: holding stock may cost a checkout at most a fifth of its throughput.
STOCK_CHECKOUT_RATIO_TARGET = 0.8


@dataclass(frozen=True)
class Measurement:
    key: str
    title: str
    orders: int  # in the database when the scenario started
    result: LoadResult
    # CPU the workers used per response: unlike req/s, barely moved by other processes
    # competing for the machine's cores.
    cpu_ms: float


@dataclass(frozen=True)
class Phase:
    """Scenarios run at one database size, with the ceiling measured in the same run."""

    orders: int
    measurements: list[Measurement]

    def get(self, key: str) -> Measurement | None:
        return next((m for m in self.measurements if m.key == key), None)

    @property
    def ceilings(self) -> list[Measurement]:
        return [m for m in self.measurements if m.key == "ceiling"]

    @property
    def ceiling_rps(self) -> float:
        # Measured first and (at the full size) last too: the mean evens out drift from
        # whatever else the machine is doing.
        rates = [m.result.rps for m in self.ceilings]
        return sum(rates) / len(rates) if rates else 0.0

    def ratio(self, measurement: Measurement) -> float:
        return measurement.result.rps / self.ceiling_rps if self.ceiling_rps else 0.0

    def cpu_ratio(self, measurement: Measurement) -> float:
        """The ceiling's worker CPU per request over the scenario's: the same ratio as
        req/s on an otherwise idle machine, and steady when other processes compete."""
        costs = [m.cpu_ms for m in self.ceilings]
        ceiling = sum(costs) / len(costs) if costs else 0.0
        return ceiling / measurement.cpu_ms if measurement.cpu_ms else 0.0


def _git(*args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip()


def git_revision() -> tuple[str, bool]:
    """(short sha of HEAD, whether tracked files had uncommitted changes)."""
    return _git("rev-parse", "--short", "HEAD"), bool(_git("status", "--porcelain", "-uno"))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def cpu_pressure() -> str:
    """Share of the last minute some task waited for a CPU (Linux PSI), or "" if unknown."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return ""
    found = re.search(r"avg60=([0-9.]+)", line)
    return f"{found.group(1)}%" if found else ""


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (completed.stdout or completed.stderr).splitlines()[0].split(" Copyright")[0]


def machine_facts(postgres: dict[str, str]) -> dict[str, str]:
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores",
        "RAM": f"{_memory_gib():.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Django": version("Django"),
        "Wagtail": version("wagtail"),
        "gunicorn": version("gunicorn"),
        "PostgreSQL": (
            f"{postgres['server_version']} (shared_buffers {postgres['shared_buffers']}, "
            f"synchronous_commit {postgres['synchronous_commit']}, fsync {postgres['fsync']})"
        ),
        "Load generator": _wrk_version(),
    }


@dataclass(frozen=True)
class Report:
    config: BenchConfig
    started: dt.datetime
    sha: str
    dirty: bool
    machine: dict[str, str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    pressure_before: str
    pressure_after: str
    small: Phase
    full: Phase
    memory: list[WorkerMemory]
    memory_at_start: list[WorkerMemory]
    preparation: dict[str, dict]
    # EXPLAIN ANALYZE of the shopper's order queries at the small and the full size.
    explained: list[dict[str, dict]]
    total_seconds: float
    profiles: list[str] = field(default_factory=list)
    # Where confirmation e-mails are rendered and sent: in the request ("immediate") or by a
    # worker ("database"); see TASKS_BACKEND in the settings.
    tasks_backend: str = field(
        default_factory=lambda: os.environ.get("TASKS_BACKEND") or "immediate"
    )

    def finished(self, *, profiles: list[str], total_seconds: float) -> "Report":
        return replace(self, profiles=profiles, total_seconds=total_seconds)

    @property
    def filename(self) -> str:
        # A run with other options must not overwrite the plain run of that commit.
        tasks = "" if self.tasks_backend == "immediate" else f"tasks-{self.tasks_backend}"
        variant = f"{self.config.db_options} {tasks}"
        options = re.sub(r"[^a-z0-9]+", "-", variant.lower()).strip("-")
        return f"{self.started:%Y-%m-%d}-{self.sha}{'-' + options if options else ''}.md"

    # -- the pieces ------------------------------------------------------------------------

    def table(self) -> str:
        """Every measurement, the full size first, each with the ratio to its own ceiling."""
        rows = [
            "| Scenario | Orders | Requests | Req/s | p50 ms | p99 ms | Queries/req "
            "| × ceiling | Worker CPU ms/req | × ceiling (CPU) | Errors |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for phase in (self.full, self.small):
            for m in phase.measurements:
                r = m.result
                rows.append(
                    f"| {m.title} | {m.orders:,} | {r.requests:,} | {r.rps:,.0f} "
                    f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {_queries(r)} "
                    f"| {phase.ratio(m):.2f} | {m.cpu_ms:.1f} | {phase.cpu_ratio(m):.2f} "
                    f"| {_errors(r)} |"
                )
        return "\n".join(rows)

    def growth_table(self) -> str:
        rows = [
            f"| Scenario | at {self.small.orders:,} orders | at {self.full.orders:,} orders "
            "| change |",
            "|---|---|---|---|",
        ]
        for key in ("shop_shopper", "shop_anonymous", "orders_shopper"):
            small, full = self.small.get(key), self.full.get(key)
            if small is None or full is None:
                continue
            change = full.result.p50_ms / small.result.p50_ms - 1 if small.result.p50_ms else 0
            rows.append(
                f"| {full.title} | {_brief(small, self.small)} | {_brief(full, self.full)} "
                f"| p50 {change:+.0%}, queries {_query_change(small.result, full.result)} |"
            )
        return "\n".join(rows)

    def explain_table(self) -> str:
        if len(self.explained) < 2:
            return ""
        small, full = self.explained
        rows = [
            f"| Query (EXPLAIN ANALYZE) | at {self.small.orders:,} orders "
            f"| at {self.full.orders:,} orders |",
            "|---|---|---|",
        ]
        for name, before in small.items():
            after = full.get(name, {})
            rows.append(
                f"| {name} | {before['ms']:.2f} ms: {before['plan']} "
                f"| {after.get('ms', 0):.2f} ms: {after.get('plan', '–')} |"
            )
        return "\n".join(rows)

    def targets(self) -> list[tuple[str, str, str, bool]]:
        """(scenario, target, what was measured, met?) for each target of issue 7."""
        found = []
        shop = self.full.get("shop_shopper")
        if shop is not None:
            ratio = self.full.ratio(shop)
            found.append(
                (
                    "shop_shopper",
                    f"Shop page for the shopper ≥ {SHOP_PAGE_RATIO_TARGET}× the ceiling",
                    f"{ratio:.2f}× ({shop.result.rps:,.0f} vs {self.full.ceiling_rps:,.0f} req/s); "
                    f"by worker CPU {self.full.cpu_ratio(shop):.2f}×",
                    ratio >= SHOP_PAGE_RATIO_TARGET,
                )
            )
        worst = [
            (phase.orders, m.result.queries_max)
            for phase in (self.small, self.full)
            if (m := phase.get("shop_shopper")) is not None and m.result.queries_max is not None
        ]
        if worst:
            found.append(
                (
                    "shop_shopper",
                    f"Shop page ≤ {SHOP_PAGE_QUERY_TARGET} queries whatever the order count",
                    ", ".join(f"at most {q} at {orders:,} orders" for orders, q in worst),
                    all(q <= SHOP_PAGE_QUERY_TARGET for _, q in worst)
                    and len({q for _, q in worst}) == 1,
                )
            )
        untracked, tracked = self.full.get("checkout"), self.full.get("checkout_stock")
        if untracked is not None and tracked is not None:
            ratio = tracked.result.rps / untracked.result.rps
            found.append(
                (
                    "checkout_stock",
                    f"Checkout with stock tracked ≥ {STOCK_CHECKOUT_RATIO_TARGET}× untracked",
                    f"{ratio:.2f}× ({tracked.result.rps:,.0f} vs "
                    f"{untracked.result.rps:,.0f} req/s)",
                    ratio >= STOCK_CHECKOUT_RATIO_TARGET,
                )
            )
        webhook = self.full.get("webhook_distinct")
        if webhook is not None:
            ratio = self.full.ratio(webhook)
            duplicate = self.full.get("webhook_duplicate")
            extra = (
                f"; duplicates {self.full.ratio(duplicate):.2f}×" if duplicate is not None else ""
            )
            found.append(
                (
                    "webhook_distinct",
                    f"Webhook handling ≥ {WEBHOOK_RATIO_TARGET}× the ceiling",
                    f"{ratio:.2f}× for distinct events ({webhook.result.rps:,.0f} req/s), "
                    f"by worker CPU {self.full.cpu_ratio(webhook):.2f}×{extra}",
                    ratio >= WEBHOOK_RATIO_TARGET,
                )
            )
        return found

    def missed_scenarios(self) -> set[str]:
        return {key for key, _, _, met in self.targets() if not met}

    def targets_table(self) -> str:
        rows = ["| Target | Measured | |", "|---|---|---|"]
        for _, target, measured, met in self.targets():
            rows.append(f"| {target} | {measured} | {'met' if met else '**missed**'} |")
        return "\n".join(rows)

    def memory_table(self) -> str:
        start = {worker.pid: worker for worker in self.memory_at_start}
        rows = [
            "| Worker pid | RSS after warm-up | RSS after the run | Peak RSS |",
            "|--:|--:|--:|--:|",
        ]
        for worker in self.memory:
            before = start.get(worker.pid)
            rows.append(
                f"| {worker.pid} | {_mib(before.rss_kib) if before else '–'} "
                f"| {_mib(worker.rss_kib)} | {_mib(worker.hwm_kib)} |"
            )
        return "\n".join(rows)

    # -- the whole -------------------------------------------------------------------------

    def markdown(self) -> str:
        config = self.config
        dirty = " (plus uncommitted changes in tracked files)" if self.dirty else ""
        machine = "\n".join(f"| {name} | {value} |" for name, value in self.machine.items())
        preparation = ", ".join(
            f"{step} {facts.get('seconds', '?')} s" for step, facts in self.preparation.items()
        )
        connections = (
            f"`DATABASE_URL` options `{config.db_options}`"
            if config.db_options
            else "database connections as production configures them (`CONN_MAX_AGE` 0: a "
            "new PostgreSQL connection for every request)"
        )
        profiles = "\n\n".join(self.profiles) or "No target was missed: nothing profiled."
        pressure = (self.pressure_before or "–", self.pressure_after or "–")
        shopper_orders = self.preparation.get("create", {}).get(
            "shopper_orders", config.shopper_orders
        )
        return f"""# Benchmark {self.started:%Y-%m-%d %H:%M} UTC, {self.sha}{dirty}

Produced by `make bench` (see [bench/README.md](../README.md)) in {self.total_seconds:.0f} s.

| Machine | |
|---|---|
| Date | {self.started:%Y-%m-%d %H:%M:%S} UTC |
| Git | {self.sha}{dirty} |
{machine}
| Load average (1, 5, 15 min) | before {_load(self.load_before)}, after {_load(self.load_after)} |
| CPU pressure (PSI "some", 60 s) | before {pressure[0]}, after {pressure[1]} |

**Method**

- Server: gunicorn `-c gunicorn.conf.py site_config.wsgi`, {config.workers} sync workers
  (`WEB_CONCURRENCY={config.workers}`; `GUNICORN_MAX_REQUESTS=0`, so no worker restarts
  mid-measurement), settings `site_config.settings.bench` (production plus plain HTTP and
  no rate limits), {connections}, `TASKS_BACKEND={self.tasks_backend}`.
- Database: PostgreSQL database `{config.database}`, created fresh; each order has 1–3
  lines, {shopper_orders:,} of them are the benchmark shopper's. Preparation: {preparation}.
- Load: wrk, one thread, {config.connections} connections; each scenario after sequential
  warm-up requests, for up to {config.duration:.0f} s or {config.max_requests:,} responses.
  Latency is wrk's, from request sent to response read, queueing for a worker included.
- Worker CPU: user + system time of the gunicorn workers (`/proc/<pid>/stat`) over the
  scenario, divided by the responses; PostgreSQL's own CPU is not in it.
- Queries per request: the `X-Bench-Queries` header that `bench.middleware` (bench
  settings only) sets from `connection.execute_wrapper`, read from every timed response
  ("a–b (mean)" when they varied).
- × ceiling: requests per second over those of `/bench/ceiling/` (the shop page's bytes,
  precomputed, same gunicorn) at the same database size; at the full size the ceiling ran
  first and last, and the mean of the two is used. × ceiling (CPU): the ceiling's worker
  CPU per request over the scenario's, which other processes on the machine barely move.
- Checkout runs against the fake Stripe (`tests/support/stripe_fake.py`) in its own
  process, with no added latency. Webhooks are signed `checkout.session.completed` events.

## Results

{self.table()}

## Targets

{self.targets_table()}

## Shop page cost against the number of orders

{self.growth_table()}

The database's side of the shopper's order queries, which other processes on the machine
disturb least:

{self.explain_table()}

## Worker memory

{self.memory_table()}

## Profiles of the missed targets

py-spy sampled both workers ({profile_rate} samples/s each) while the scenario ran twice
more for {config.duration:.0f} s: once taking every sample (wall-clock time, waiting for
PostgreSQL and for a CPU included), once only samples holding the GIL (the Python CPU the
request costs). Each sample is counted in the layer of its deepest recognised frame
(`bench/profile.py`).

{profiles}
"""


def _queries(result: LoadResult) -> str:
    if result.queries_mean is None:
        return "–"
    if result.queries_min == result.queries_max:
        return str(result.queries_max)
    return f"{result.queries_min}–{result.queries_max} ({result.queries_mean:.1f})"


def _errors(result: LoadResult) -> str:
    if not result.errors:
        return "0"
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
    return f"{result.errors} ({statuses})"


def _brief(measurement: Measurement, phase: Phase) -> str:
    r = measurement.result
    return (
        f"{r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, {_queries(r)} queries, "
        f"{measurement.cpu_ms:.1f} ms worker CPU, {phase.ratio(measurement):.2f}× ceiling"
    )


def _query_change(small: LoadResult, full: LoadResult) -> str:
    if small.queries_max is None or full.queries_max is None:
        return "–"
    if (small.queries_min, small.queries_max) == (full.queries_min, full.queries_max):
        return "unchanged"
    return f"{_queries(small)} → {_queries(full)}"


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)
