"""`obscale agent reset`: an operator on the target's host returns a stuck SCALING OUT agent to
SINGLE (host access is the proof). Its scale-out DAG is cancelled if it still runs and rolled
back *alone* (the stages that would wait for the cluster DAG go on without it), by the agent's
own consumer: the observer it started is stopped, what it made is removed, the identity is
SINGLE again. Refused while the cluster lists this node's server.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from app import peer
from app.dag.models import FAILED, SUCCEED
from app.dag.template import SCOPE_AGENT
from app.models import IDENTITY_SCALING_OUT, IDENTITY_SINGLE
from app.node import identity as agent
from app.ob import sql
from app.ob.connection import session
from app.ob.errors import ObError
from app.scaleout.target import ADD_SERVER_NODE, ADD_SERVER_SEEN

# Set in the local DAG's context: its rollback does not wait for the cluster DAG.
ROLLBACK_ALONE = "rollbackAlone"
WATCH_NODE = "Watch cluster scale_out dag"


class ResetRefused(Exception):
    """What stops the reset, in words for the operator."""


@dataclass
class Verdict:
    """Whether the cluster lists this node's server, and how that was learnt."""

    listed: bool | None
    how: str


def cluster_lists_us(engine: Any, dag: Any, config: Mapping[str, Any]) -> Verdict:
    """Ask the local observer, then the cluster DAG on its members; when no one answers, what
    this agent saw of the cluster DAG decides (as a rollback of its watch would); None when
    it may have seen ADD SERVER begin."""
    params = dag.params_dict()
    ip, ob_configs = str(config["IP"]), params["obConfigs"]
    password = agent.get_root_password() or ""
    try:
        with session(ip, int(ob_configs["mysql_port"]), password, config) as conn:
            row = sql.server_row(conn, ip, int(ob_configs["rpc_port"]))
        return Verdict(row is not None, f"DBA_OB_SERVERS through {ip}:{ob_configs['mysql_port']}")
    except ObError:
        pass
    for member in [params["agentInfo"], *(params.get("allAgents") or [])]:
        try:
            cluster_dag = peer.get_dag(member, config, params["coordinateDagId"], password)
        except peer.PeerError:
            continue
        node = next((n for n in cluster_dag.get("nodes") or [] if n.get("name") == ADD_SERVER_NODE),
                    None)
        began = node is None or node.get("state") != "PENDING" or node.get("operator") == "ROLLBACK"
        undone = cluster_dag.get("operator") == "ROLLBACK" and cluster_dag.get("state") == SUCCEED
        return Verdict(began and not undone, f"cluster DAG {params['coordinateDagId']} on "
                       f"{peer.address(member)}")
    if not _saw_add_server_begin(engine, dag):
        return Verdict(False, "no member of the cluster answers, and this agent never saw the "
                       "cluster DAG begin its ADD SERVER")
    return Verdict(None, "no member of the cluster answers, and this agent saw the cluster DAG "
                   "begin its ADD SERVER")


def _saw_add_server_begin(engine: Any, dag: Any) -> bool:
    model = engine.store.SubTask
    watch = model.get_or_none((model.dag == dag.id) & (model.name == WATCH_NODE))
    return bool(watch is not None and json.loads(watch.local_data or "{}").get(ADD_SERVER_SEEN))


def check(engine: Any, config: Mapping[str, Any], force: bool) -> Any:
    """The local scale-out DAG to roll back alone, or ResetRefused; None when already SINGLE."""
    identity = agent.get_identity().identity
    if identity == IDENTITY_SINGLE:
        return None
    if identity != IDENTITY_SCALING_OUT:
        raise ResetRefused(f"this agent is {identity}: a member of the cluster leaves it by a "
                           "scale-in, not by a reset")
    dag = engine.last_maintenance_dag(SCOPE_AGENT)
    if dag is None:
        raise ResetRefused("this agent is SCALING OUT but has no scale-out DAG")
    verdict = cluster_lists_us(engine, dag, config)
    if verdict.listed:
        raise ResetRefused(f"the cluster lists this node's server ({verdict.how}): roll back the "
                           "cluster's scale-out DAG first, or scale the server in")
    if verdict.listed is None and not force:
        raise ResetRefused(f"cannot tell whether the cluster lists this node's server "
                           f"({verdict.how}); if you know it does not, run again with --force")
    return dag


def start(engine: Any, dag: Any) -> str:
    """Mark the DAG to roll back alone, then CANCEL or ROLLBACK it; returns what was done."""
    engine.set_context(dag.id, ROLLBACK_ALONE, True)
    current = engine.get_dag(dag.id)
    if current.state == SUCCEED:
        return "its DAG has already ended"
    if current.state == FAILED:
        engine.operate(dag.id, "ROLLBACK")
        return "rollback started"
    engine.operate(dag.id, "CANCEL")
    return "cancel requested; the rollback follows once it has stopped"


def rolled_back(engine: Any, dag_id: int) -> bool:
    """True once the DAG has ended rolled back (and so the agent is SINGLE)."""
    dag = engine.get_dag(dag_id)
    return dag.state == SUCCEED and dag.operator == "ROLLBACK"


def failed(engine: Any, dag_id: int) -> bool:
    """True while the DAG stands FAILED (a cancel that has landed)."""
    return engine.get_dag(dag_id).state == FAILED
