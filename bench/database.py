"""The bench's own PostgreSQL database: dropped and created fresh for every run."""

import psycopg2
from psycopg2 import sql

from bench.config import BenchConfig


def _admin_connection(config: BenchConfig):
    connection = psycopg2.connect(f"{config.server_url.rstrip('/')}/postgres")
    # CREATE/DROP DATABASE cannot run inside a transaction.
    connection.autocommit = True
    return connection


def database_recreate(config: BenchConfig) -> None:
    connection = _admin_connection(config)
    try:
        with connection.cursor() as cursor:
            name = sql.Identifier(config.database)
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        connection.close()


def server_facts(config: BenchConfig) -> dict[str, str]:
    """The PostgreSQL version and the settings that decide its speed, for the report."""
    connection = _admin_connection(config)
    try:
        with connection.cursor() as cursor:
            facts = {}
            for name in ("server_version", "shared_buffers", "synchronous_commit", "fsync"):
                cursor.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
                facts[name] = cursor.fetchone()[0]
            return facts
    finally:
        connection.close()
