"""Apply the numbered migrations to their stores, each exactly once: app.migrations to the agent
database, app.migrations.cluster to the cluster store (spec/cluster-store.md §3).

The checkout keeps them in the top-level migrations/ folder; setup.cfg installs that folder as
app.migrations. A plain checkout has no such package, so it is bound to the folder here.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
import time
from pathlib import Path
from types import ModuleType

from app.db import database

log = logging.getLogger(__name__)

PACKAGE = "app.migrations"
CHECKOUT_FOLDER = Path(__file__).resolve().parent.parent / "migrations"


def migrations_package() -> ModuleType:
    """app.migrations: the installed package, or the checkout's migrations/ folder under that name."""
    try:
        return importlib.import_module(PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name != PACKAGE or not (CHECKOUT_FOLDER / "__init__.py").is_file():
            raise
    spec = importlib.util.spec_from_file_location(
        PACKAGE, CHECKOUT_FOLDER / "__init__.py", submodule_search_locations=[str(CHECKOUT_FOLDER)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


CLUSTER_PACKAGE = f"{PACKAGE}.cluster"
CLUSTER_TABLE = "obscale_schema_migration"


def available(package: str = PACKAGE) -> list[str]:
    """Migration module names of a series in order."""
    migrations_package()
    path = importlib.import_module(package).__path__
    return sorted(m.name for m in pkgutil.iter_modules(path) if m.name[:4].isdigit())


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
        module = importlib.import_module(f"{PACKAGE}.{name}")
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


def run_cluster_migrations(db) -> list[str]:
    """Apply the cluster store's series to `ocs` (created if missing); return the names applied.

    Two agents may run this at the same moment: every cluster migration is idempotent (CREATE
    TABLE IF NOT EXISTS with its indexes inline, upserts for seed rows) and its record is an
    upsert, so the loser of a race repeats no-ops instead of failing.
    """
    from app.ob.connection import execute, session

    host, port, password = db.locate()
    with session(host, port, password, db.config) as conn:
        execute(conn, f"CREATE DATABASE IF NOT EXISTS `{db.database}`")
    db.execute_sql(f"CREATE TABLE IF NOT EXISTS `{CLUSTER_TABLE}` (`name` VARCHAR(255) NOT NULL "
                   "PRIMARY KEY, `applied_at` DOUBLE NOT NULL)")
    done = {row[0] for row in db.execute_sql(f"SELECT `name` FROM `{CLUSTER_TABLE}`")}
    ran = []
    for name in available(CLUSTER_PACKAGE):
        if name in done:
            continue
        importlib.import_module(f"{CLUSTER_PACKAGE}.{name}").migrate(db)
        db.execute_sql(f"INSERT INTO `{CLUSTER_TABLE}` (`name`, `applied_at`) VALUES (%s, %s) "
                       "ON DUPLICATE KEY UPDATE `name` = `name`", (name, time.time()))
        log.info("applied cluster store migration %s", name)
        ran.append(name)
    return ran
