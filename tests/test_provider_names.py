"""Only shop/payments/ knows the payment provider's names, ids, JSON paths and pages.

Everything else speaks of sessions, payments and events in the shop's own words, so a
second provider (or a change in Stripe's API) touches one folder.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_SUFFIXES = {".py", ".html", ".js", ".css"}
# The provider's own folder; settings, which read the STRIPE_* environment variables;
# migrations, which record history as it was; tests and benchmarks, which play Stripe.
ALLOWED = ("shop/payments/", "site_config/settings/", "tests/", "bench/")
# Not ours: installed packages and tools' caches (any hidden folder: .venv, .venv-3.13, .git).
SKIPPED_DIRS = {"node_modules", "static_collected", "media", "__pycache__", "test-artifacts"}
# Id prefixes are matched at the start of a word: "docs_" and "api_" are not Stripe's.
PROVIDER_NAMES = re.compile(
    r"stripe|payment_intent|checkout\.session|charge\.refunded|charge\.dispute"
    r"|(?<![a-z0-9])cs_|(?<![a-z0-9])pi_|whsec_|dashboard\.stripe",
    re.IGNORECASE,
)


def _sources() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        hidden = any(part.startswith(".") for part in relative.parts)
        if hidden or SKIPPED_DIRS & set(relative.parts) or path.suffix not in SOURCE_SUFFIXES:
            continue
        name = relative.as_posix()
        if name.startswith(ALLOWED) or "/migrations/" in f"/{name}":
            continue
        if path.is_file():
            found.append(path)
    return found


def test_the_search_covers_the_code_outside_the_payments_folder() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _sources()}

    assert {"shop/checkout/views.py", "shop/services/webhooks.py", "templates/base.html"} <= names
    assert not any(name.startswith("shop/payments/") for name in names)


def test_no_provider_name_outside_the_payments_folder() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if PROVIDER_NAMES.search(line)
    ]

    assert hits == []
