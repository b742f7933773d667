"""The obscale agent: create_app() is the one factory.

The web stack is imported inside create_app() so that light processes that only need
app.config (gunicorn's master, the `obscale serve` supervisor) never load Flask.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover - typing only
    from flask import Flask

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> "Flask":
    """Build the Flask app from defaults, OBSCALE_* environment and `config`."""
    from flask import Flask

    from app.config import load_config
    from app.db import init_db
    from app.errors import begin_request, register_error_handlers
    from app.security.middleware import install as install_verification

    settings = load_config(config)
    if not settings.get("HOME"):
        raise RuntimeError("OBSCALE_HOME (the observer home of this node) is not set")
    app = Flask(__name__)
    # Routes match the path exactly: `/api//v1/info` is not `/api/v1/info` (no redirect).
    app.url_map.merge_slashes = False
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False
    init_db(settings["DATABASE"])

    app.before_request(begin_request)
    app.before_request(_exact_path)
    app.before_request(_open_db)
    install_verification(app)  # verification + body decryption, after the two hooks above
    app.teardown_request(_close_db)
    register_error_handlers(app)
    _register_blueprints(app)
    # Views create and operate DAGs, enqueueing into the consumer's queue file; operators run
    # their templates' hooks (pass guard, on_finish) here too.
    from app.dags import build_engines

    engines = build_engines(settings)
    app.extensions["dag_engine"] = engines.agent
    app.extensions["cluster_engine"] = engines.cluster
    return app


def dag_engine():
    """The engine of this agent's own (local) DAGs, for the request being handled."""
    from flask import current_app

    return current_app.extensions["dag_engine"]


def cluster_engine():
    """The engine of the cluster's DAGs (in the cluster store), for the request being handled."""
    from flask import current_app

    return current_app.extensions["cluster_engine"]


def _exact_path() -> None:
    """werkzeug's router drops leading slashes (`//api/v1/info` would be served): refuse them."""
    from flask import request
    from werkzeug.exceptions import NotFound

    if request.environ.get("PATH_INFO", "").startswith("//"):
        raise NotFound()


def _open_db() -> None:
    from peewee import DatabaseError

    from app.db import database

    try:
        database.connect(reuse_if_open=True)
    except DatabaseError as exc:  # a broken home: routes that need the state say so themselves
        log.warning("cannot open the agent database: %s", exc)


def _close_db(exc: BaseException | None) -> None:
    from app.clusterdb import cluster_database
    from app.db import database

    if not database.is_closed():
        database.close()
    # A request that read the cluster store opened a connection to OceanBase on first use.
    if not cluster_database.is_closed():
        cluster_database.close()


def _register_blueprints(app: "Flask") -> None:
    # Imported here so that importing `app` stays free of I/O and cycles.
    from app.api import BLUEPRINTS

    for blueprint in BLUEPRINTS():
        app.register_blueprint(blueprint)
