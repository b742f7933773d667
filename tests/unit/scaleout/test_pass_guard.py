"""PASS on the coordinator's last stage only once the target reported CLUSTER AGENT."""
import json

import pytest

from app.dag.models import Dag, DagNode, SubTask
from app.db import database
from app.dag.store import agent_store
from app.scaleout.coordinator_sql import pass_guard


def _dag_with_last_data(data):
    dag = Dag.create(name="Cluster scale out", scope="cluster", stage=1, max_stage=1,
                     maintenance_type=2, state="FAILED", operator="RUN", params="{}", context="{}")
    node = DagNode.create(dag=dag.id, seq=1, name="Check", state="FAILED", operator="RUN")
    SubTask.create(dag=dag.id, node=node.id, seq=0, name="Check", state="FAILED", operator="RUN",
                   additional_data=json.dumps(data) if data is not None else None)
    return dag


@pytest.mark.parametrize("data,allowed", [
    ({"targetIdentity": "CLUSTER AGENT", "readiness": "unverified"}, True),
    ({"targetIdentity": "SCALING OUT"}, False),
    ({}, False),
    (None, False),
])
def test_pass_guard(app, data, allowed):
    with database.connection_context():
        reason = pass_guard(_dag_with_last_data(data), agent_store())
    assert (reason is None) is allowed
    if not allowed:
        assert "has not reported CLUSTER AGENT" in reason
