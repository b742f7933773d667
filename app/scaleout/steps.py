"""Small helpers shared by the stages of both scale-out DAGs."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

from app.node.identity import get_root_password
from app.dag.template import TaskFailed, Wait
from app.models import AgentState
from app.ob.connection import session
from app.ob.errors import OB_RPC_CONNECT_ERROR, OB_TIMEOUT, ObAuthError, ObError, ObTransientError
from app import peer


FIRST_CHECK_S = 0.05


def next_check_in(ctx) -> float:
    """Check again soon after a wait starts, then back off to the poll interval.

    Most waits end within a second (a peer finishing a short stage); a long wait is checked
    every SCALE_OUT_POLL_INTERVAL_S. The delay is a quarter of the time waited so far.
    """
    poll = float(ctx.config["SCALE_OUT_POLL_INTERVAL_S"])
    return min(poll, max(FIRST_CHECK_S, ctx.waited_s() / 4))


def wait(ctx, key: str, message: str, delay: float | None = None):
    """Log the waiting reason when it changes (or every 30 s), then reschedule the check."""
    ctx.log_change(key, message)
    raise Wait(message, delay=next_check_in(ctx) if delay is None else delay)


@contextlib.contextmanager
def local_ob(ctx) -> Iterator[Any]:
    """A root@sys session on this agent's observer; transient trouble reschedules the stage."""
    state = AgentState.load()
    port = state.mysql_port or int(ctx.config["OB_MYSQL_PORT"])
    try:
        with session(ctx.config["IP"], port, get_root_password() or "", ctx.config) as conn:
            yield conn
    except ObTransientError as exc:
        wait(ctx, f"ob-transient:{exc.code}", transient_reason(exc, f"{ctx.config['IP']}:{port}"))
    except ObAuthError:
        raise TaskFailed("OceanBase refused the stored root@sys password (1045)") from None
    except ObError as exc:
        raise TaskFailed(f"MySQL error {exc}") from None


def transient_reason(exc: ObTransientError, where: str) -> str:
    """Plain words for an error worth waiting out."""
    if exc.code == OB_RPC_CONNECT_ERROR:
        return f"waiting: OceanBase cannot reach the new server over RPC ({exc.text})"
    if exc.code == OB_TIMEOUT:
        return f"waiting: OceanBase timed out ({exc.text})"
    return f"waiting: OceanBase at {where} is unreachable ({exc})"


@contextlib.contextmanager
def peer_call(ctx, who: str) -> Iterator[None]:
    """Transport failures to the peer reschedule; error answers fail the stage."""
    try:
        yield
    except peer.PeerUnreachable as exc:
        wait(ctx, f"peer-down:{who}", f"waiting: {who} unreachable ({exc.reason})")
    except peer.PeerRefused as exc:
        if exc.status == 401 and exc.err_code.endswith("WithAgentPassword"):
            wait(ctx, f"peer-auth:{who}", f"waiting: {who} does not accept the root password yet")
        raise TaskFailed(f"{who} answered {exc.status} {exc.err_code}: {exc.message}") from None


def node_at(dag: Mapping[str, Any], idx: int) -> Mapping[str, Any]:
    """Node idx (0-based) of a peer DAG with details; a malformed DAG fails the stage."""
    nodes = dag.get("nodes") or []
    if idx < 0 or idx >= len(nodes):
        raise TaskFailed(f"peer DAG {dag.get('id')} has no node {idx} ({len(nodes)} nodes)")
    return nodes[idx]


def last_log(dag: Mapping[str, Any], node_idx: int | None = None) -> tuple[str, str]:
    """(node name, last log line) of the given node, or of the first FAILED node."""
    nodes = dag.get("nodes") or []
    chosen = None
    if node_idx is not None and node_idx < len(nodes):
        chosen = nodes[node_idx]
    else:
        chosen = next((n for n in nodes if n.get("state") == "FAILED"), None)
    if chosen is None:
        return "", ""
    for task in chosen.get("sub_tasks") or []:
        if task.get("task_logs"):
            return chosen.get("name", ""), task["task_logs"][-1]
    return chosen.get("name", ""), ""
