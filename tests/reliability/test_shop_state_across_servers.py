"""What every process keeps of the shop page is dropped everywhere when an editor changes it.

Each worker of each server holds the drawn page and the site's lookups while the shop's
version in the shared cache stays the same (shop/shop_state.py). A product renamed by a
third process (a command, as the admin would on another server) must show on the very next
visit to any worker of either server.
"""

import pytest
import requests

from tests.reliability.cluster import ShopCluster
from tests.support.servers import manage

pytestmark = pytest.mark.postgres

RENAME = (
    "from shop.models import Product; p = Product.objects.get(slug='canvas-tote'); "
    "p.name = {name!r}; p.save_revision().publish()"
)
# Enough visits to reach each of the servers' worker processes, round-robin or not.
VISITS = 24


def _pages(cluster: ShopCluster) -> list[str]:
    return [
        requests.get(f"{server.url}/", timeout=10).text
        for _ in range(VISITS // 2)
        for server in cluster.servers
    ]


def test_a_product_renamed_elsewhere_shows_at_once_on_every_worker_of_both_servers(
    cluster: ShopCluster, tmp_path
) -> None:
    before = _pages(cluster)  # every worker draws and keeps the page
    assert all("Canvas Tote" in page for page in before)

    log = tmp_path / "rename.log"
    manage("shell", "-c", RENAME.format(name="Waxed Canvas Tote"), env=cluster.env, log_path=log)
    try:
        after = _pages(cluster)
    finally:
        manage("shell", "-c", RENAME.format(name="Canvas Tote"), env=cluster.env, log_path=log)

    assert all("Waxed Canvas Tote" in page for page in after)
    assert all("Waxed Canvas Tote" not in page for page in _pages(cluster))
