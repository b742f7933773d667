"""The handshake's stage numbers name the nodes the templates really have there."""
import pytest

from app.scaleout import handshake as h
from app.scaleout.templates import coordinator_nodes, target_nodes


def _names(nodes):
    return [node.name for node in nodes]


def test_target_gates_and_their_neighbours():
    names = _names(target_nodes({}))
    assert names[h.node_before_gate(h.WAIT_DEPLOY_RETRY_STAGE)] == "Be scaling agent"
    assert names[h.node_index(h.WAIT_DEPLOY_RETRY_STAGE)] == "Start preparations"
    assert names[h.node_after_gate(h.WAIT_DEPLOY_RETRY_STAGE)] == "Create observer workdir"
    assert names[h.node_index(h.WAIT_START_RETRY_STAGE)] == "Start preparations"
    assert names[h.node_after_gate(h.WAIT_START_RETRY_STAGE)] == "Start observer"
    assert names[h.watch_node(h.WAIT_START_RETRY_STAGE)] == "Watch cluster scale_out dag"


@pytest.mark.parametrize("new_zone", [False, True])
def test_coordinator_stages_the_target_waits_for(new_zone):
    names = _names(coordinator_nodes({"isNewZone": new_zone}))
    assert names[h.node_index(h.EXPECT_DEPLOY_NEXT_STAGE)] == "Wait remote deploy finish"
    assert names[h.node_index(h.EXPECT_START_NEXT_STAGE)] == "Wait remote start finish"
    assert names[h.node_index(h.EXPECT_ROLLBACK_NEXT_STAGE)] == "Prev check for scale_out"
    assert names[h.node_index(h.EXPECT_ROLLBACK_NEXT_STAGE) + 1] in (
        "Add new zone for scale_out", "Add server for scale_out")
