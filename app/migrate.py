"""Apply the numbered migrations in migrations/ to the agent database, each exactly once."""
from __future__ import annotations

import importlib
import logging
import pkgutil
import time

import migrations
from app.db import database

log = logging.getLogger(__name__)


def available() -> list[str]:
    """Migration module names in order."""
    names = [m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name[:4].isdigit()]
    return sorted(names)


def applied() -> set[str]:
    """Names already recorded in the database."""
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "schema_migration" '
        '("name" VARCHAR(255) NOT NULL PRIMARY KEY, "applied_at" REAL NOT NULL)')
    return {row[0] for row in database.execute_sql('SELECT "name" FROM "schema_migration"')}


def run_migrations() -> list[str]:
    """Apply what is missing, one transaction per migration; return the names applied."""
    done = applied()
    ran = []
    for name in available():
        if name in done:
            continue
        module = importlib.import_module(f"migrations.{name}")
        with database.atomic("IMMEDIATE"):
            # Another process may have applied it while we waited for the write lock.
            if database.execute_sql('SELECT 1 FROM "schema_migration" WHERE "name" = ?',
                                    (name,)).fetchone():
                continue
            module.migrate(database)
            database.execute_sql('INSERT INTO "schema_migration" VALUES (?, ?)',
                                 (name, time.time()))
        log.info("applied migration %s", name)
        ran.append(name)
    return ran
