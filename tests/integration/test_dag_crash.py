"""SIGKILL the consumer (or the whole agent) at several points: every DAG completes and every
side effect is applied exactly once; no completed sub-task runs again; no lock is orphaned."""
import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from app.dag.models import SubTask
from app.db import connection
from tests.support import agents
from tests.support import dag_templates as templates
from tests.support.dag_harness import (DagAgent, TEMPLATE_ENV, bind_test_process, dag_agent,
                                       unbind_test_process, wait_for)

pytestmark = pytest.mark.integration
IP = "127.0.0.21"


def _finished(agent: DagAgent, dag_id: int, timeout: float = 90):
    return wait_for(lambda: (d := agent.dag(dag_id)).finished and d, timeout, 0.05)


def _execs(log: Path, kind: str = "exec") -> list[tuple[str, str]]:
    """(node.task, pid) per execution line of `kind`."""
    text = log.read_text() if log.exists() else ""
    rows = [r.split() for r in text.splitlines() if r.startswith(kind + " ")]
    return [(r[2], r[3]) for r in rows]


def _execute_times(dag_id: int) -> list[int]:
    with connection():
        return [s.execute_times for s in SubTask.select().where(SubTask.dag == dag_id)
                .order_by(SubTask.id)]


def _waiting(dag_id: int) -> bool:
    with connection():
        return SubTask.select().where((SubTask.dag == dag_id) & (SubTask.state == "RUNNING")
                                      & SubTask.claim_owner.is_null()
                                      & SubTask.next_check_at.is_null(False)).exists()


POINTS = {
    "first stage, before its side effect": ("1", "hold"),
    "middle stage, before its side effect": ("2", "hold"),
    "middle stage, after its side effect, before the commit": ("2", "hold_after"),
    "last stage, after its side effect": ("4", "hold_after"),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_sigkill_while_a_stage_runs(tmp_path, point):
    node, knob = POINTS[point]
    hold = tmp_path / "hold"
    hold.touch()
    log, effects = tmp_path / "exec.log", tmp_path / "effects.log"
    params = {"log": str(log), "effects": str(effects), "stages": 4,
              "nodes": {node: {knob: str(hold)}}}
    with dag_agent(IP, tmp_path) as agent:
        dag = agent.create(templates.LINEAR, params)
        wait_for(lambda: Path(f"{hold}.reached").exists(), 30)
        killed = agent.consumer_pid()
        agent.kill_consumer()
        hold.unlink()
        done = _finished(agent, dag.id)
        assert (done.state, done.operator) == ("SUCCEED", "RUN")
        assert effects.read_text().splitlines() == [f"effect {dag.id} {n}.0" for n in range(1, 5)]
        runs = Counter(step for step, _ in _execs(log))
        assert runs == Counter({f"{n}.0": 2 if str(n) == node else 1 for n in range(1, 5)})
        before, after = [pid for step, pid in _execs(log) if step == f"{node}.0"]
        assert before == str(killed) and after != before
        assert _execute_times(dag.id) == [1, 1, 1, 1]  # a resumed run, not a new execution
        assert agent.sdk().get_dag(f"1{dag.id}").is_succeed()


def test_sigkill_while_a_stage_waits(tmp_path):
    log, effects = tmp_path / "exec.log", tmp_path / "effects.log"
    params = {"log": str(log), "effects": str(effects),
              "nodes": {"2": {"waits": 2, "wait_delay": 1.5}}}
    with dag_agent(IP, tmp_path) as agent:
        dag = agent.create(templates.LINEAR, params)
        wait_for(lambda: _waiting(dag.id), 30)  # between two checks: no claim, a check scheduled
        agent.kill_consumer()
        done = _finished(agent, dag.id)
        assert done.state == "SUCCEED"
        assert effects.read_text().splitlines() == [f"effect {dag.id} {n}.0" for n in (1, 2, 3)]
        assert Counter(s for s, _ in _execs(log)) == Counter({"1.0": 1, "2.0": 3, "3.0": 1})


def test_sigkill_during_a_rollback_step(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    log, effects = tmp_path / "exec.log", tmp_path / "effects.log"
    params = {"log": str(log), "effects": str(effects),
              "nodes": {"3": {"fail_until": "/none"}, "2": {"rollback_hold": str(hold)}}}
    with dag_agent(IP, tmp_path) as agent:
        client = agent.sdk()
        dag = agent.create(templates.LINEAR, params)
        assert _finished(agent, dag.id).state == "FAILED"
        client.operate_dag(f"1{dag.id}", "ROLLBACK")
        wait_for(lambda: Path(f"{hold}.reached").exists(), 30)
        agent.kill_consumer()
        hold.unlink()
        done = _finished(agent, dag.id)
        assert (done.state, done.operator, done.stage) == ("SUCCEED", "ROLLBACK", 1)
        undo = [line for line in effects.read_text().splitlines() if line.startswith("undo")]
        assert undo == [f"undo {dag.id} {n}.0" for n in (3, 2, 1)]
        assert Counter(s for s, _ in _execs(log, "rollback")) == Counter(
            {"3.0": 1, "2.0": 2, "1.0": 1})
        from tests.support.engine_proxy import engine

        with connection():
            assert engine.find_lock_holder("cluster") is None


@pytest.fixture
def bound_to(tmp_path):
    """Binds this process to an agent's files; back on the unit-test defaults afterwards."""
    yield bind_test_process
    unbind_test_process()


def test_whole_agent_killed_and_restarted(tmp_path, bound_to):
    hold = tmp_path / "hold"
    hold.touch()
    log, effects = tmp_path / "exec.log", tmp_path / "effects.log"
    params = {"log": str(log), "effects": str(effects), "nodes": {"2": {"hold_after": str(hold)}}}
    home = agents.prepare_home(tmp_path / "home")
    env = dict(TEMPLATE_ENV)
    first = agents.start_serve(IP, home, env=env)
    try:
        agent = DagAgent(first, {})
        from app.config import load_config

        config = load_config({"HOME": str(home), "IP": IP, "PORT": 2886}, environ={})
        bound_to(config)
        dag = agent.create(templates.LINEAR, params)
        wait_for(lambda: Path(f"{hold}.reached").exists(), 30)
        children = first.descendants()
        os.kill(first.pid, signal.SIGKILL)
        first.process.wait(30)
        wait_for(lambda: not any(agents.alive(pid) for pid in children), 30)
        hold.unlink()
        assert agent.dag(dag.id).state == "RUNNING"
    finally:
        agents.stop_serve(first, check=False)
    with agents.serve_agent(IP, home, env=env) as second:
        done = _finished(DagAgent(second, config), dag.id)
        assert done.state == "SUCCEED"
        assert effects.read_text().splitlines() == [f"effect {dag.id} {n}.0" for n in (1, 2, 3)]
        assert Counter(s for s, _ in _execs(log)) == Counter({"1.0": 1, "2.0": 2, "3.0": 1})
