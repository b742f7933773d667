"""The target's stage budgets: the coordinator's, never above the target's own settings."""
from app.config import load_config
from app.scaleout.templates import target_nodes


def _budgets(timeouts):
    config = load_config({}, environ={})
    nodes = target_nodes({"timeouts": timeouts})
    return {node.name + f"#{i}": node.tasks[0].budget(config) for i, node in enumerate(nodes)}, config


def test_a_caller_cannot_raise_the_targets_budgets():
    budgets, config = _budgets({"deploy_s": 1000000, "start_s": 1e9, "start_wait_s": 1e9,
                                "watch_s": 1e9})
    assert budgets["Start preparations#1"] == float(config["SCALE_OUT_DEPLOY_TIMEOUT_S"])
    assert budgets["Start observer#4"] == float(config["OBSERVER_START_TIMEOUT_S"])
    assert budgets["Watch cluster scale_out dag#5"] == float(config["SCALE_OUT_WATCH_TIMEOUT_S"])


def test_a_caller_may_shorten_them():
    budgets, _ = _budgets({"deploy_s": 7, "watch_s": 9})
    assert budgets["Start preparations#1"] == 7.0
    assert budgets["Watch cluster scale_out dag#5"] == 9.0
