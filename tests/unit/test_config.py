"""Settings: precedence and the budget relations the agent refuses to start without."""
from app.config import check_budgets, load_config


def test_environment_then_overrides():
    config = load_config({"PORT": 3000}, environ={"OBSCALE_PORT": "2999", "OBSCALE_WORKERS": "3",
                                                  "OBSCALE_OB_TLS": "yes"})
    assert (config["PORT"], config["WORKERS"], config["OB_TLS"]) == (3000, 3, True)


def test_derived_budgets_are_consistent_by_default():
    config = load_config(environ={})
    assert config["SCALE_OUT_START_WAIT_TIMEOUT_S"] == config["OBSERVER_START_TIMEOUT_S"] + 120
    assert check_budgets(config) == []


def test_budget_conflicts_are_named():
    config = load_config({"SCALE_OUT_START_WAIT_TIMEOUT_S": 10, "OBSERVER_START_TIMEOUT_S": 60,
                          "SCALE_OUT_WATCH_TIMEOUT_S": 5}, environ={})
    problems = check_budgets(config)
    assert any("SCALE_OUT_START_WAIT_TIMEOUT_S" in p for p in problems)
    assert any("SCALE_OUT_WATCH_TIMEOUT_S" in p for p in problems)
