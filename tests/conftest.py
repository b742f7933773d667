"""Shared fixtures: a temp home, an app on a temp-file database, and a client."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from app import create_app
from app.db import database
from app.migrate import run_migrations
from tests.support.engine_proxy import engine

# No wall-clock limits in tests: hypothesis' per-example deadline and its too-slow health
# check would fail a property test because the machine is busy, not because it is wrong.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@pytest.fixture
def home(tmp_path):
    """A fresh observer home for one agent."""
    path = tmp_path / "home"
    (path / "bin").mkdir(parents=True)
    return path


@pytest.fixture
def app(home):
    """An app on a temp-file database with the queue in immediate mode."""
    # CLUSTER_STORE "agent": cluster DAGs in the SQLite file too (a unit test runs no observer).
    application = create_app({"HOME": str(home), "TESTING": True, "QUEUE_IMMEDIATE": True,
                              "CLUSTER_STORE": "agent",
                              "TEMPLATE_MODULES": "tests.support.dag_templates"})
    with database.connection_context():
        run_migrations()
    engine.target = application.extensions["dag_engine"]
    yield application
    engine.target = None
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    return app.test_client()
