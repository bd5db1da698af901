"""The shared cache's backends: Django's database cache with an atomic ``incr`` (the default
when no ``CACHE_URL``), and Django's Redis cache reusing its client.

Rate limits and log-in throttles count in the cache, and every gunicorn worker on every
server must count the same requests. Django's database cache is shared, but its ``incr``
is a read then a write, so two workers counting at once can both write the same number.
Here the row is locked for the read-modify-write (``SELECT ... FOR UPDATE`` where the
database has it; SQLite's immediate transactions already take the write lock first).
"""

from django.core.cache.backends import db
from django.core.cache.backends import redis as redis_backend
from django.db import connections, router, transaction


class DatabaseCache(db.DatabaseCache):
    def incr(self, key, delta=1, version=None):
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        with transaction.atomic(using=alias):
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self._table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608 (table name from settings, quoted)
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)


class RedisCacheClient(redis_backend.RedisCacheClient):
    """Django's Redis client, keeping one ``redis.Redis`` per connection pool.

    Django builds a new ``redis.Redis`` for every cache call, and building one (its table of
    response callbacks) costs about as much CPU as the read itself. A client only borrows
    connections from its pool, so one is safe to share between threads.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis_backend.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
