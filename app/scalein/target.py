"""The removed node's side of a scale-in: POST /rpc/v1/ob/scale_in (begin, abort, finish).

Before it changes anything this agent confirms with the cluster, as the target of a scale-out
does (a forged RPC must not stop a member's observer): another member serves the named DAG,
'Cluster scale in', running, naming this agent; for 'finish' its wait for OceanBase has
succeeded, so the cluster no longer lists this server. Each action is idempotent and short: a
stop that takes longer is answered 'stopping' and the coordinator asks again.

Data directories are left in place unless the scale-in asked for their removal (removeData):
an operator may want the files of a server that was just taken out; to join the cluster again
the directories must be empty (or removed).
"""
from __future__ import annotations

import json
import signal
from typing import Any, Mapping

from app import peer
from app.dag.template import SCOPE_AGENT
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN, IDENTITY_SINGLE
from app.node import identity as agent
from app.ob import observer
from app.scaleout import workdir
from app.scalein.stages import TARGET_MARK, WAIT_DELETED
from app.scalein.templates import CLUSTER_SCALE_IN

STOP_STEP_S = 2.0
CREATE_WORKDIR = "Create observer workdir"


def _me(config: Mapping[str, Any]) -> str:
    return f"{config['IP']}:{config['PORT']}"


def _unconfirmed(body: Mapping[str, Any], why: str) -> ApiError:
    return ApiError("Common.IllegalArgument", "Illegal argument: the scale-in cannot be confirmed "
                    f"with the cluster (DAG {body['coordinateDagId']}): {why}")


def confirm_with_cluster(body: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster DAG, read from another member with our root password, names this agent."""
    me, reasons = _me(config), []
    for member in body["allAgents"]:
        if peer.address(member) == me:
            continue
        try:
            dag = peer.get_dag(member, config, body["coordinateDagId"], agent.get_root_password() or "")
        except peer.PeerError as exc:
            reasons.append(f"{peer.address(member)}: {exc.detail}")
            continue
        if dag.get("name") != CLUSTER_SCALE_IN or dag.get("state") not in ("READY", "RUNNING"):
            raise _unconfirmed(body, f"it is '{dag.get('name')}' {dag.get('state')}, not a running "
                               "cluster scale-in")
        if (dag.get("additional_data") or {}).get(TARGET_MARK) != me:
            raise _unconfirmed(body, f"it does not name {me}")
        return dag
    raise _unconfirmed(body, "no other member answers (" + "; ".join(reasons or ["none given"]) + ")")


def _identity_reply(identity: str, **extra: Any) -> dict[str, Any]:
    return {"identity": identity, **extra}


def _switch(body: Mapping[str, Any], config: Mapping[str, Any], before: str,
            after: str) -> dict[str, Any]:
    """`before` -> `after` once the cluster confirms (compare-and-set); `after` is a no-op."""
    current = agent.get_identity().identity
    if current == after:
        return _identity_reply(current)
    _require(current, before, config)
    confirm_with_cluster(body, config)
    agent.set_identity(after, expect_identity=before)
    return _identity_reply(agent.get_identity().identity)


def begin(body: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """CLUSTER AGENT -> SCALING IN."""
    return _switch(body, config, IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN)


def abort(body: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """SCALING IN -> CLUSTER AGENT (the scale-in is being rolled back)."""
    return _switch(body, config, IDENTITY_SCALING_IN, IDENTITY_CLUSTER_AGENT)


def finish(engine: Any, body: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """Stop the observer, then SINGLE (data directories removed only when asked)."""
    current = agent.get_identity().identity
    if current == IDENTITY_SINGLE:
        return _identity_reply(current)
    _require(current, IDENTITY_SCALING_IN, config)
    dag = confirm_with_cluster(body, config)
    waited = next((n for n in dag.get("nodes") or [] if n.get("name") == WAIT_DELETED), {})
    if waited.get("state") != "SUCCEED":
        raise _unconfirmed(body, "OceanBase has not finished deleting this server yet")
    pid = observer.live_observer_pid(str(config["HOME"]))
    if pid is not None:
        observer.send_signal(pid, signal.SIGKILL if body.get("kill") else signal.SIGTERM)
        if not observer.wait_gone(pid, STOP_STEP_S):
            return _identity_reply(current, observerPid=pid, stopping=True)
    data_dirs = remove_data(engine, config) if body.get("removeData") else None
    agent.clear_cluster_membership()
    return _identity_reply(agent.get_identity().identity, dataDirs=data_dirs)


def _require(current: str, wanted: str, config: Mapping[str, Any]) -> None:
    if current != wanted:
        raise ApiError("Agent.Identify.NotSupportOperation", f"'{_me(config)}' is '{current}', "
                       f"instead of '{wanted}', does not support this operation")


class _Recorded:
    """What workdir.remove needs of a task context: the paths a scale-out recorded."""

    def __init__(self, local: dict[str, Any]):
        self.local, self.lines = local, []

    def set_local(self, key: str, value: Any) -> None:
        self.local[key] = value

    def log(self, message: str) -> None:
        self.lines.append(message)


def remove_data(engine: Any, config: Mapping[str, Any]) -> str:
    """Remove the directories the last 'Local scale out' created (its recorded paths only)."""
    dag = engine.last_maintenance_dag(SCOPE_AGENT)
    model = engine.store.SubTask
    task = None if dag is None else model.get_or_none((model.dag == dag.id)
                                                      & (model.name == CREATE_WORKDIR))
    if task is None:
        return "no scale-out of this agent recorded its directories: they are left in place"
    recorded = _Recorded(json.loads(task.local_data or "{}"))
    workdir.remove(recorded, str(config["HOME"]))
    return "; ".join(recorded.lines)
