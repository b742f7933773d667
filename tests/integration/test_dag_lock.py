"""Two maintenance DAGs requested at once: one gets the lock, the other the maintenance error;
a FAILED DAG keeps the lock until it is rolled back."""
import threading

import pytest

from app.dag.errors import LockHeld
from tests.support.engine_proxy import engine
from app.db import connection
from tests.support import dag_templates as templates
from tests.support.dag_harness import dag_agent, wait_for

pytestmark = pytest.mark.integration
IP = "127.0.0.22"
ROUNDS = 5


def _race(agent, params) -> list:
    """Two threads (two SQLite connections) call create_dag at the same moment."""
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def request(slot: int) -> None:
        barrier.wait()
        try:
            results[slot] = agent.create(templates.LINEAR, params)
        except LockHeld as held:
            results[slot] = held

    threads = [threading.Thread(target=request, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_requests_one_lock(tmp_path):
    params = {"log": str(tmp_path / "exec.log"), "nodes": {"1": {"fail_until": "/none"}}}
    with dag_agent(IP, tmp_path) as agent:
        client = agent.sdk()
        for _ in range(ROUNDS):
            results = _race(agent, params)
            held = [r for r in results if isinstance(r, LockHeld)]
            created = [r for r in results if not isinstance(r, LockHeld)]
            assert len(held) == 1 and len(created) == 1, results
            winner = created[0]
            assert held[0].holder.id == winner.id
            assert f"DAG {winner.id} (Test linear" in str(held[0])
            assert wait_for(lambda: agent.dag(winner.id).finished, 30)
            with pytest.raises(LockHeld):  # a FAILED DAG keeps the lock
                agent.create(templates.LINEAR, params)
            client.operate_dag(f"1{winner.id}", "ROLLBACK")
            assert wait_for(lambda: agent.dag(winner.id).state == "SUCCEED", 30)
            assert client.get_dag(f"1{winner.id}").additional_data["rolled_back"] is True
            with connection():
                assert engine.find_lock_holder("cluster") is None
