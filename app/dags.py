"""This agent's DAG engine: the templates it knows and the store and queue it runs on."""
from __future__ import annotations

import importlib
from typing import Any, Mapping, NamedTuple

from app.dag.engine import DagEngine
from app.dag.store import agent_store, cluster_store
from app.dag.template import SCOPE_AGENT, SCOPE_CLUSTER, DagTemplate
from app.taskqueue import make_queue

# Template modules every agent loads; each has a TEMPLATES list. TEMPLATE_MODULES (env
# OBSCALE_TEMPLATE_MODULES, comma-separated) adds more: the plugin hook for extra DAG kinds.
BUILTIN_TEMPLATE_MODULES = ("app.scaleout.templates", "app.scalein.templates")


def load_templates(extra: str | None = None) -> list[DagTemplate]:
    """The templates of the built-in modules and of the extra ones named in `extra`.

    A later module's template replaces an earlier one of the same name (tests wrap the
    scale-out templates this way)."""
    names = list(BUILTIN_TEMPLATE_MODULES)
    names += [n.strip() for n in (extra or "").split(",") if n.strip()]
    return [t for name in names for t in importlib.import_module(name).TEMPLATES]


class Engines(NamedTuple):
    """The engine of this agent's own DAGs and the engine of its cluster's DAGs.

    With CLUSTER_STORE "agent" both are one engine over the agent's SQLite (unit tests of one
    module, and the engine's own tests on a lone agent)."""

    agent: DagEngine
    cluster: DagEngine

    @property
    def shared(self) -> bool:
        """True when cluster DAGs live in the cluster store (OceanBase)."""
        return self.cluster is not self.agent


def build_engines(settings: Mapping[str, Any]) -> Engines:
    """Both engines, enqueueing into the agent's one queue file (each under its own task names)."""
    queue = make_queue(settings.get("QUEUE_DATABASE"), bool(settings.get("QUEUE_IMMEDIATE")),
                       float(settings.get("QUEUE_IDLE_S", 30.0)))
    templates = load_templates(settings.get("TEMPLATE_MODULES"))
    if settings.get("CLUSTER_STORE", "ocs") == "agent":
        engine = DagEngine(agent_store(), settings, templates, queue)
        return Engines(engine, engine)
    from app.clusterdb import configure

    configure(settings)
    here = f"{settings['IP']}:{settings['PORT']}"
    local = DagEngine(agent_store(), settings,
                      [t for t in templates if t.scope == SCOPE_AGENT], queue)
    cluster = DagEngine(cluster_store(here), settings,
                        [t for t in templates if t.scope == SCOPE_CLUSTER], queue, periodic=False)
    return Engines(local, cluster)

