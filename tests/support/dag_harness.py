"""A real `obscale serve` whose consumer knows the test templates, and a test process bound
to the same database and queue files so it can create DAGs directly (there is no generic
"create a DAG" route). Loopback only; processes are found and stopped by pid."""
from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from app.config import load_config
from app.process import procfs
from tests.support import agents
from tests.support.polling import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
# The engine's own tests run on one SINGLE agent, so its cluster-scope test DAGs live in that
# agent's SQLite (CLUSTER_STORE "agent"); the cluster store has suites of its own.
TEMPLATE_ENV = {"OBSCALE_TEMPLATE_MODULES": "tests.support.dag_templates",
                "OBSCALE_CLUSTER_STORE": "agent", "PYTHONPATH": str(REPO_ROOT)}


@dataclass
class DagAgent:
    """A running agent plus what a test needs to drive its engine."""

    handle: agents.AgentHandle
    config: dict[str, Any]

    def sdk(self):
        """The unmodified obshell SDK client (SINGLE agent, no password)."""
        from obshell import ClientV1
        from obshell.auth.password import PasswordAuth

        return ClientV1(self.handle.ip, self.handle.port, PasswordAuth(""))

    def create(self, name: str, params: Mapping[str, Any]):
        """Create a DAG of a test template in this agent's store (the consumer runs it)."""
        from tests.support.engine_proxy import engine
        from app.db import connection
        from tests.support.dag_templates import template

        with connection():
            return engine.create_dag(template(name), params)

    def dag(self, dag_id: int):
        from app.dag.models import Dag
        from app.db import connection

        with connection():
            return Dag.get_by_id(dag_id)

    def consumer_pid(self) -> int | None:
        """The pid of the live consumer (`... app.cli worker ...`) below serve."""
        for pid in self.handle.descendants():
            if "worker" in procfs.cmdline(pid) and agents.alive(pid):
                return pid
        return None

    def kill_consumer(self) -> int:
        """SIGKILL the consumer; return the pid of the one the supervisor starts instead."""
        old = wait_for(self.consumer_pid, 20)
        os.kill(old, signal.SIGKILL)
        return wait_for(lambda: (pid := self.consumer_pid()) != old and pid, 30)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    """Poll until `predicate()` is truthy; return its value."""
    return wait_until(predicate, timeout, interval, what=f"{predicate}")


def bind_test_process(config: Mapping[str, Any]) -> None:
    """Point this process's database at the agent's file and build an engine on its queue."""
    from app.dags import build_engines
    from app.db import init_db
    from tests.support.engine_proxy import engine

    init_db(config["DATABASE"])
    engine.target = build_engines({**config, "TEMPLATE_MODULES": "tests.support.dag_templates",
                                   "CLUSTER_STORE": "agent"}).agent


def unbind_test_process() -> None:
    """Forget the engine bound by bind_test_process()."""
    from tests.support.engine_proxy import engine

    engine.target = None


@contextlib.contextmanager
def dag_agent(ip: str, root: Path, env: Mapping[str, str] | None = None) -> Iterator[DagAgent]:
    """`obscale serve` on ip:2886 with the test templates; this process bound to its files."""
    home = agents.prepare_home(Path(root) / f"home-{ip}")
    config = load_config({"HOME": str(home), "IP": ip, "PORT": 2886}, environ={})
    with agents.serve_agent(ip, home, env={**TEMPLATE_ENV, **(env or {})}) as handle:
        bind_test_process(config)
        try:
            yield DagAgent(handle, config)
        finally:
            unbind_test_process()
