"""What a bench run is configured with: ``BENCH_*`` environment variables (the Makefile's).

Also the environment every bench subprocess (prepare, gunicorn) runs with, so the
server and the data preparation agree on the database and the secrets.
"""

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_DIR / "bench"
PYTHON = PROJECT_DIR / ".venv" / "bin" / "python"
SETTINGS_MODULE = "site_config.settings.bench"

# Fixed, throwaway credentials: the bench database and its fake Stripe live only on loopback.
SECRET_KEY = "bench-only-secret-key-not-for-any-real-site-0123456789"  # noqa: S105
STRIPE_SECRET_KEY = "sk_test_bench"  # noqa: S105
STRIPE_WEBHOOK_SECRET = "whsec_bench_0123456789abcdef"  # noqa: S105


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class BenchConfig:
    orders: int  # orders in the database for the main measurements
    shopper_orders: int  # of which the benchmark shopper's
    small_orders: int  # the first, smaller size the shop page is also measured at
    database: str
    server_url: str  # PostgreSQL server, without a database name
    duration: float  # seconds per scenario (upper bound)
    connections: int  # concurrent connections of the load generator
    max_requests: int  # requests per scenario (upper bound)
    checkouts: int  # fresh checkout tokens prepared for the checkout scenario
    webhook_events: int  # pending orders (and events) for the distinct-webhook scenario
    workers: int
    work_dir: Path
    # Appended to DATABASE_URL, e.g. "conn_max_age=60&conn_health_checks=true"
    # to measure persistent connections; empty: production's settings as they are.
    db_options: str

    @classmethod
    def from_env(cls) -> "BenchConfig":
        return cls(
            orders=_int("BENCH_ORDERS", 100_000),
            shopper_orders=_int("BENCH_SHOPPER_ORDERS", 500),
            small_orders=_int("BENCH_SMALL_ORDERS", 1_000),
            database=os.environ.get("BENCH_DATABASE") or "storefront_bench",
            server_url=os.environ.get("BENCH_POSTGRES") or "postgres://postgres@127.0.0.1:5432",
            duration=_float("BENCH_DURATION", 10.0),
            connections=_int("BENCH_CONNECTIONS", 4),
            max_requests=_int("BENCH_MAX_REQUESTS", 50_000),
            checkouts=_int("BENCH_CHECKOUTS", 4_000),
            webhook_events=_int("BENCH_WEBHOOK_EVENTS", 6_000),
            workers=_int("BENCH_WORKERS", 2),
            work_dir=Path(os.environ.get("BENCH_WORK_DIR") or BENCH_DIR / ".work"),
            db_options=os.environ.get("BENCH_DB_OPTIONS", "").lstrip("?"),
        )

    @property
    def database_url(self) -> str:
        url = f"{self.server_url.rstrip('/')}/{self.database}"
        return f"{url}?{self.db_options}" if self.db_options else url

    def validate(self) -> None:
        if self.shopper_orders > self.small_orders:
            raise SystemExit("BENCH_SHOPPER_ORDERS must not exceed BENCH_SMALL_ORDERS.")
        if self.small_orders > self.orders:
            raise SystemExit("BENCH_SMALL_ORDERS must not exceed BENCH_ORDERS.")


def django_env(config: BenchConfig, *, stripe_api_base: str = "") -> dict[str, str]:
    """Environment for a Django process (prepare, gunicorn) on the bench database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=config.database_url,
        PAYMENT_GATEWAY="stripe",
        STRIPE_SECRET_KEY=STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_api_base,
        BENCH_WORK_DIR=str(config.work_dir),
        # Empty: production's default, the database cache every worker shares (production
        # refuses a per-process cache with several workers); a developer's .env cannot
        # point the bench elsewhere.
        CACHE_URL="",
        PYTHONUNBUFFERED="1",
    )
    return env
