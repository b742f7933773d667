"""Settings: defaults, then OBSCALE_* environment variables, then the mapping a caller passes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

AGENT_STATE_DIRNAME = "obscale"

DEFAULTS: dict[str, Any] = {
    # Where this node's OceanBase lives (bin/observer, store/, etc/, log/, run/).
    "HOME": "",
    # Advertised agent address; also the address gunicorn binds to.
    "IP": "127.0.0.1",
    "PORT": 2886,
    # gevent workers: one serves the handful of clients an agent has, slow ones included.
    "WORKERS": 1,
    # A connection must begin and finish sending a request within this (app/process/web_worker.py).
    "REQUEST_READ_TIMEOUT_S": 5.0,
    "AGENT_VERSION": "4.2.5.0",
    "LOG_LEVEL": "INFO",
    "RSA_KEY_BITS": 2048,
    "MAX_BODY_BYTES": 1048576,
    "AUTH_V1_ENABLED": False,
    "TS_MAX_AHEAD_S": 3600,
    # DAG engine.
    # A claim (lease) on a running sub-task; longer than any single blocking call.
    "CLAIM_TTL_S": 90,
    # The consumer does not poll: a write to the queue rings its doorbell (app/taskqueue.py),
    # and its scheduler sleeps until the next due time. With nothing to do it still looks at
    # the queue and the schedule this often (a safety net; the recovery sweep has its own).
    "QUEUE_IDLE_S": 30.0,
    "QUEUE_WORKERS": 4,
    # Run tasks inline in memory instead of through the queue file (unit tests only).
    "QUEUE_IMMEDIATE": False,
    # Extra DAG template modules the consumer imports (comma-separated; a plugin hook).
    "TEMPLATE_MODULES": "",
    "RECOVERY_INTERVAL_S": 10,
    # The cluster store (spec/cluster-store.md): "ocs" keeps cluster DAGs, the cluster lock and
    # the registry in OceanBase; "agent" keeps them in this agent's SQLite (unit tests of one
    # module, which run no observer).
    "CLUSTER_STORE": "ocs",
    # A claim in the cluster store: renewed every CLUSTER_CLAIM_RENEW_S while its task runs,
    # taken over by another member once CLUSTER_CLAIM_TTL_S (database time) passed unrenewed.
    "CLUSTER_CLAIM_TTL_S": 6.0,
    "CLUSTER_CLAIM_RENEW_S": 2.0,
    # How long ready or due cluster work may sit untouched before the maintainer runs it.
    "CLUSTER_SWEEP_GRACE_S": 3.0,
    # The maintainer lease: one member scans the cluster store for lost work every
    # MAINTAINER_SCAN_S; it renews the lease every MAINTAINER_RENEW_S and loses it after
    # MAINTAINER_LEASE_S without renewal. The others check the lease as often as it is renewed.
    "MAINTAINER_LEASE_S": 6.0,
    "MAINTAINER_RENEW_S": 2.0,
    "MAINTAINER_SCAN_S": 2.0,
    "SUBTASK_CEILING_S": 3600,
    # Scale-out budgets (spec/scale-out.md §3.6).
    "SCALE_OUT_POLL_INTERVAL_S": 2.0,  # the longest gap between two checks of a wait
    "SCALE_OUT_RPC_TIMEOUT_S": 60,
    # How long a SQL stage keeps retrying transient errors (connection trouble, 4012, 4265).
    "SCALE_OUT_SQL_TIMEOUT_S": 120,
    "SCALE_OUT_READY_TIMEOUT_S": 120,
    "SCALE_OUT_DEPLOY_TIMEOUT_S": 300,
    "OBSERVER_START_TIMEOUT_S": 600,
    "SCALE_OUT_START_WAIT_TIMEOUT_S": 0,  # 0 = OBSERVER_START_TIMEOUT_S + 120
    "SCALE_OUT_SERVING_TIMEOUT_S": 1800,
    "SCALE_OUT_WATCH_TIMEOUT_S": 0,  # 0 = derived from the coordinator's budgets + 600
    "SCALE_OUT_DELETE_SERVER_TIMEOUT_S": 600,
    "OBSERVER_STOP_TIMEOUT_S": 60,
    "AGENT_HTTP_TIMEOUT_S": 10.0,
    "OB_CONNECT_TIMEOUT_S": 5.0,
    "OB_READ_TIMEOUT_S": 30.0,
    "OB_TLS": False,
    "OB_MYSQL_PORT": 2881,
    # Agent-to-agent scheme: one per cluster.
    "AGENT_SCHEME": "http",
    # Set by `obscale serve` for its children (0 = this process): reported by /info and /status.
    "SERVE_PID": 0,
    "STARTED_AT_NS": 0,
    # Admin health thresholds (GET /api/v1/admin/health).
    "HEALTH_HEARTBEAT_MAX_AGE_S": 150,
    "HEALTH_DISK_MIN_FREE_MB": 1024,
    "HEALTH_DB_SLOW_MS": 1000,
}

_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n", ""}


def _cast(name: str, raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the default."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"OBSCALE_{name}: expected a boolean, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the effective settings: defaults < OBSCALE_* environment < overrides."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = environ.get(f"OBSCALE_{name}")
        if raw is not None:
            config[name] = _cast(name, raw, default)
    for name, value in (overrides or {}).items():
        config[name] = value
    return derive(config)


def derive(config: dict[str, Any]) -> dict[str, Any]:
    """Fill the settings that are computed from others."""
    if not config.get("SCALE_OUT_START_WAIT_TIMEOUT_S"):
        config["SCALE_OUT_START_WAIT_TIMEOUT_S"] = config["OBSERVER_START_TIMEOUT_S"] + 120
    if not config.get("SCALE_OUT_WATCH_TIMEOUT_S"):
        config["SCALE_OUT_WATCH_TIMEOUT_S"] = coordinator_tail_budget(config) + 600
    home = config.get("HOME") or ""
    if home:
        state = Path(home).resolve() / AGENT_STATE_DIRNAME
        config.setdefault("STATE_DIR", str(state))
        config.setdefault("DATABASE", str(state / "obscale.db"))
        config.setdefault("QUEUE_DATABASE", str(state / "queue.db"))
        config.setdefault("KEY_FILE", str(state / "agent_key.pem"))
        config.setdefault("LOG_DIR", str(state / "log"))
        config.setdefault("PID_FILE", str(state / "obscale.pid"))
    return config


def coordinator_tail_budget(config: Mapping[str, Any]) -> float:
    """What the coordinator may spend after its stage 5: the target's watch must outlast it.

    The serving wait, and up to four SQL stages (prev check, ADD/START ZONE, ADD SERVER), each
    of which may block on one statement for its budget plus the read margin and then wait out
    its budget once more."""
    sql_stage = 2 * float(config["SCALE_OUT_SQL_TIMEOUT_S"]) + float(config["OB_READ_TIMEOUT_S"])
    return float(config["SCALE_OUT_SERVING_TIMEOUT_S"]) + 4 * sql_stage


def check_budgets(config: Mapping[str, Any]) -> list[str]:
    """Name every pair of settings where a waiting side's budget is shorter than what it waits for."""
    problems = []
    if config["SCALE_OUT_START_WAIT_TIMEOUT_S"] < config["OBSERVER_START_TIMEOUT_S"]:
        problems.append("SCALE_OUT_START_WAIT_TIMEOUT_S must be at least OBSERVER_START_TIMEOUT_S")
    if config["SCALE_OUT_WATCH_TIMEOUT_S"] < coordinator_tail_budget(config):
        problems.append("SCALE_OUT_WATCH_TIMEOUT_S must be at least SCALE_OUT_SERVING_TIMEOUT_S"
                        " plus the SQL read margins")
    if config["SUBTASK_CEILING_S"] < config["SCALE_OUT_SERVING_TIMEOUT_S"]:
        problems.append("SUBTASK_CEILING_S must be at least SCALE_OUT_SERVING_TIMEOUT_S")
    return problems
