"""This agent's DAG engine: the templates it knows and the store and queue it runs on."""
from __future__ import annotations

import importlib
from typing import Any, Mapping

from app.dag.engine import DagEngine
from app.dag.store import agent_store
from app.dag.template import DagTemplate
from app.taskqueue import make_queue

# Template modules every agent loads; each has a TEMPLATES list. TEMPLATE_MODULES (env
# OBSCALE_TEMPLATE_MODULES, comma-separated) adds more: the plugin hook for extra DAG kinds.
BUILTIN_TEMPLATE_MODULES = ("app.scaleout.templates",)


def load_templates(extra: str | None = None) -> list[DagTemplate]:
    """The templates of the built-in modules and of the extra ones named in `extra`.

    A later module's template replaces an earlier one of the same name (tests wrap the
    scale-out templates this way)."""
    names = list(BUILTIN_TEMPLATE_MODULES)
    names += [n.strip() for n in (extra or "").split(",") if n.strip()]
    return [t for name in names for t in importlib.import_module(name).TEMPLATES]


def build_engine(settings: Mapping[str, Any]) -> DagEngine:
    """The engine over this agent's SQLite store, enqueueing into the agent's queue file."""
    queue = make_queue(settings.get("QUEUE_DATABASE"), bool(settings.get("QUEUE_IMMEDIATE")))
    return DagEngine(agent_store(), settings, load_templates(settings.get("TEMPLATE_MODULES")),
                     queue)
