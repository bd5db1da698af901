"""Accessibility: axe-core on every shopper-facing page, and journey 1 by keyboard alone.

axe-core comes from the npm registry (package.json at the repo root; ``npm ci`` or
``make e2e-deps``). It is evaluated in the page through DevTools, which the page's
Content-Security-Policy does not govern, so the pages are audited exactly as served.
"""

import os
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import REPO
from tests.e2e.shopper import (
    EMAIL,
    MUG,
    TOTE,
    choose,
    decline,
    open_shop,
    order_card,
    pay,
    press_buy,
)

pytestmark = pytest.mark.e2e

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if AXE.exists():
        return AXE.read_text()
    message = f"{AXE.relative_to(REPO)} not found: run `npm ci` (or `make e2e-deps`)."
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def audit(axe_source):
    """audit(page, label): run axe on the page as it is now; assert at the end of the test."""
    findings: list[str] = []

    def run(page, label: str) -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        results = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " url: v.helpUrl, nodes: v.nodes.map(n => ({target: n.target.join(' '),"
            " summary: n.failureSummary}))})))"
        )
        for violation in results:
            if violation["impact"] in BLOCKING_IMPACTS:
                findings.append(_describe(label, page.url, violation))

    yield run
    assert not findings, "axe-core found serious or critical violations:\n\n" + "\n\n".join(
        findings
    )


def _describe(label: str, url: str, violation: dict) -> str:
    lines = [
        f"[{label}] {url}",
        f"  {violation['impact'].upper()} {violation['id']}: {violation['help']}",
        f"  {violation['url']}",
    ]
    for node in violation["nodes"][:8]:
        lines.append(f"    - {node['target']}")
        for detail in (node["summary"] or "").splitlines():
            lines.append(f"        {detail.strip()}")
    return "\n".join(lines)


def test_shop_and_payment_pages_have_no_serious_accessibility_violations(page, audit):
    open_shop(page)
    audit(page, "shop page")
    choose(page, MUG, 1)
    press_buy(page)
    audit(page, "payment page")
    decline(page)
    expect(page.get_by_role("alert")).to_be_visible()
    audit(page, "payment page after a declined card")
    reference = pay(page)
    audit(page, "shop page after a purchase")

    page.goto("/orders/")
    expect(order_card(page, reference)).to_be_visible()
    audit(page, "order history")
    page.get_by_role("link", name=f"Order {reference}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {reference}")
    audit(page, "order detail")
    page.get_by_role("link", name="Receipt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receipt")
    audit(page, "receipt")


def test_account_pages_have_no_serious_accessibility_violations(page, audit):
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    audit(page, "sign-up page")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    audit(page, "sign-up page with errors")

    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    audit(page, "log-in page")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist, [role='alert']").first).to_be_visible()
    audit(page, "log-in page with errors")


def _tab_to(page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab on {page.url}")


def _focus_is_visible(page) -> bool:
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0; }"
    )


def test_whole_purchase_can_be_done_with_the_keyboard_alone(page):
    open_shop(page)
    mug = page.get_by_label(f"Quantity of {MUG}")
    tote = page.get_by_label(f"Quantity of {TOTE}")

    _tab_to(page, f"#{mug.get_attribute('id')}")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    _tab_to(page, f"#{tote.get_attribute('id')}")
    page.keyboard.press("ArrowUp")
    expect(page.locator("output#cart-total")).to_have_text("$60.50")
    _tab_to(page, "[data-buy-button]")
    assert _focus_is_visible(page), "the focused Buy button shows no focus outline"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkout/local/cs_"))

    _tab_to(page, "input[type='email']")
    page.keyboard.type(EMAIL)
    for field, text in (
        ("name", "Ada Lovelace"),
        ("line1", "12 Analytical Row"),
        ("city", "Springfield"),
        ("postal_code", "62701"),
        ("country", "United States"),  # typed into the select, as a keyboard user picks
    ):
        _tab_to(page, f"#id_{field}")
        page.keyboard.type(text)
    expect(page.locator("#id_country")).to_have_value("US")
    _tab_to(page, "#id_rate_0")
    page.keyboard.press("Space")
    expect(page.locator("#id_rate_0")).to_be_checked()
    _tab_to(page, "button[value='pay']")
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text(re.compile(r"Order \S+ is paid"))
    reference = re.search(r"Order (\S+) is paid", page.locator(".messages").inner_text())[1]
    expect(order_card(page, reference).locator(".status")).to_have_text("Paid")
    expect(order_card(page, reference).locator(".order__total")).to_have_text("Total $60.50")
