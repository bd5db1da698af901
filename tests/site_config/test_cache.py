"""The shared cache (the database's by default, or Redis) is one every worker shares, and its
counters never lose a count."""

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings

from site_config.cache import RedisCache
from site_config.settings import base
from tests.site_config.test_production import PRODUCTION_ENV, _run
from tests.support.threads import together

COUNTERS = 8
ADDS_EACH = 25


# Threads need committed rows; serialized_rollback keeps the migrated data for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def default_cache():
    """The cache as dev and production configure it without CACHE_URL, with its table."""
    with override_settings(CACHES=base.CACHES):
        call_command("createcachetable", verbosity=0)
        shared = caches.create_connection("default")
        shared.clear()
        yield shared
        shared.clear()


@pytest.mark.postgres
def test_workers_counting_at_once_in_the_default_cache_lose_no_count(default_cache):
    default_cache.add("hits", 0)

    def count(_):
        shared = caches.create_connection("default")
        for _ in range(ADDS_EACH):
            shared.incr("hits")

    together(COUNTERS, count)

    assert default_cache.get("hits") == COUNTERS * ADDS_EACH


def test_the_default_cache_keeps_counting_past_djangos_300_entries(default_cache):
    for key in range(400):
        default_cache.set(f"client-{key}", 1)

    assert sum(default_cache.get(f"client-{key}", 0) for key in range(400)) == 400


def test_production_refuses_a_per_process_cache_with_several_workers():
    env = {**PRODUCTION_ENV, "CACHE_URL": "locmemcache://", "WEB_CONCURRENCY": "3"}

    result = _run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "rate limits would count per worker" in result.stderr


def test_production_accepts_a_per_process_cache_with_one_worker():
    env = {**PRODUCTION_ENV, "CACHE_URL": "locmemcache://", "WEB_CONCURRENCY": "1"}

    assert _run(["manage.py", "check"], env).returncode == 0


@pytest.fixture
def redis_cache():
    """The cache production builds from ``CACHE_URL=redis://…``, on the machine's Redis."""
    shared = RedisCache("redis://127.0.0.1:6379/14", {})
    shared.clear()
    yield shared
    shared.clear()


def test_a_redis_cache_url_gives_the_redis_cache_that_keeps_its_client():
    env = {**PRODUCTION_ENV, "CACHE_URL": "redis://127.0.0.1:6379/14"}
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"

    result = _run(["manage.py", "shell", "-c", code], env)

    assert result.stdout.splitlines()[-1] == "site_config.cache.RedisCache", result.stderr


def test_threads_counting_at_once_in_the_redis_cache_share_one_client_and_lose_no_count(
    redis_cache,
):
    redis_cache.set("hits", 0)
    clients = set()

    def count(_):
        for _ in range(ADDS_EACH):
            redis_cache.incr("hits")
        clients.add(id(redis_cache._cache.get_client(write=True)))

    together(COUNTERS, count)

    assert redis_cache.get("hits") == COUNTERS * ADDS_EACH
    assert redis_cache.get_many(["hits", "absent"]) == {"hits": COUNTERS * ADDS_EACH}
    assert len(clients) == 1
