"""The stage numbers the two scale-out DAGs tell each other (spec/scale-out.md §3.1, wire §8.3).

Stage numbers are 1-based (a DAG's `stage`); node indexes are 0-based (its `nodes` list).
Each side sends its own numbers and uses only the numbers it receives for the other side.
"""
from __future__ import annotations

# Coordinator stages a target waits for (sent as paramExpect*NextStage), as in obshell:
EXPECT_DEPLOY_NEXT_STAGE = 4  # 'Wait remote deploy finish': C is ready for T's workdir
EXPECT_START_NEXT_STAGE = 5  # 'Wait remote start finish': C is ready for T's observer start
# T stops its observer only once C's rollback has come back to this stage ('Prev check for
# scale_out'): everything after it, ADD SERVER and ADD/START ZONE, is undone by then.
EXPECT_ROLLBACK_NEXT_STAGE = 6

# Target stages of the two gates, both named 'Start preparations' (sent as paramWait*RetryStage):
WAIT_DEPLOY_RETRY_STAGE = 2  # the deploy gate, after 'Be scaling agent'
WAIT_START_RETRY_STAGE = 4  # the start gate, after 'Create observer workdir'


def node_index(stage: int) -> int:
    """The 0-based node index of a 1-based stage number."""
    return int(stage) - 1


# Around a target gate at stage w the nodes are w-2, w-1 (the gate) and w (wire §8.3):
def node_before_gate(gate_stage: int) -> int:
    """The node a gate follows ('Be scaling agent' before the deploy gate)."""
    return node_index(gate_stage) - 1


def node_after_gate(gate_stage: int) -> int:
    """The work a gate lets through ('Create observer workdir' / 'Start observer')."""
    return node_index(gate_stage) + 1


def watch_node(start_gate_stage: int) -> int:
    """T's 'Watch cluster scale_out dag', next after 'Start observer': from there on, T fails
    only because it watches C."""
    return node_after_gate(start_gate_stage) + 1
