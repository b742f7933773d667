"""Apply the numbered migrations of app.migrations to the agent database, each exactly once.

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


def available() -> list[str]:
    """Migration module names in order."""
    package = migrations_package()
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name[:4].isdigit())


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
