"""Views of what the cluster holds: its members side by side, its DAG history, a DAG's full logs,
and what an operator would do to a DAG. Pure functions from API data to text."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Mapping, Sequence

from app.cli.render import elapsed_seconds, format_elapsed, nodes, outcome, parse_time, table

NONE = "-"
# operator -> (the verb in "nothing to <verb>", the outcomes that mean it is done already)
OPERATOR_WORDS = {"RETRY": ("retry", ("succeeded",)), "ROLLBACK": ("roll back", ("rolled back",)),
                  "CANCEL": ("cancel", ()), "PASS": ("pass", ("passed",))}


def short_time(value: Any) -> str:
    """A DTO time as `YYYY-MM-DD HH:MM:SS UTC`; '-' when unset."""
    moment = parse_time(value)
    if moment is None:
        return NONE
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def zone_names(info: Mapping[str, Any]) -> list[str]:
    """Every zone of the cluster, as `GET /api/v1/ob/info` lists them."""
    cluster = info.get("obcluster_info") or {}
    listed = [str(z.get("zone")) for z in cluster.get("zones") or []]
    return listed or sorted(cluster.get("topology") or {})


def _agent_cells(found: Mapping[str, Any] | None) -> dict[str, str]:
    if not found:
        return {"agent": NONE, "identity": NONE, "version": NONE}
    return {"agent": f"{found.get('ip')}:{found.get('port')}",
            "identity": str(found.get("identity")), "version": str(found.get("version"))}


def member_rows(info: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per server (with its agent), per zone without a server, per agent without one."""
    cluster = info.get("obcluster_info") or {}
    agents = list(info.get("agent_info") or [])
    by_address = {(str(a.get("ip")), int(a.get("port") or 0)): a for a in agents}
    zone_status = {str(z.get("zone")): str(z.get("status")) for z in cluster.get("zones") or []}
    topology = cluster.get("topology") or {}
    rows, matched = [], set()
    for zone in sorted(set(zone_status) | set(topology)):
        servers = topology.get(zone) or []
        if not servers:
            rows.append({"zone": zone, "zone status": zone_status.get(zone, NONE),
                         "server": "(no server)", **_agent_cells(None)})
        for server in servers:
            key = (str(server.get("svr_ip")), int(server.get("agent_port") or 0))
            matched.add(key)
            rows.append({"zone": zone, "zone status": zone_status.get(zone, NONE),
                         "server": f"{server.get('svr_ip')}:{server.get('svr_port')}",
                         "status": str(server.get("status")),
                         "start service": short_time(server.get("start_service_time")),
                         **_agent_cells(by_address.get(key))})
    for address, found in by_address.items():
        if address not in matched:
            rows.append({"zone": str(found.get("zone") or NONE), "server": "(not a server)",
                         **_agent_cells(found)})
    return rows


MEMBER_COLUMNS = ["zone", "zone status", "server", "status", "start service", "agent", "identity",
                  "version"]


def members_view(info: Mapping[str, Any], agent: str) -> list[str]:
    """`obscale members`: the cluster's servers, zones and agents side by side."""
    cluster = info.get("obcluster_info") or {}
    agents = list(info.get("agent_info") or [])
    if not cluster.get("id") and not cluster.get("topology"):
        me = agents[0] if agents else {}
        return [f"{agent} is {me.get('identity', 'UNIDENTIFIED')} (version {me.get('version')}): "
                "not a member of a cluster"]
    rows = member_rows(info)
    servers = sum(len(s) for s in (cluster.get("topology") or {}).values())
    head = (f"cluster {cluster.get('name')} (id {cluster.get('id')}), OceanBase "
            f"{cluster.get('version')}: {len(zone_names(info))} zone(s), {servers} server(s), "
            f"{len(agents)} agent(s)")
    return [head, "", table(rows, MEMBER_COLUMNS)]


def dag_rows(dags: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per DAG of a history list."""
    rows = []
    for dag in dags:
        took = elapsed_seconds(dag)
        rows.append({"id": str(dag.get("id")), "name": str(dag.get("name")),
                     "outcome": outcome(dag), "state": f"{dag.get('state')}/{dag.get('operator')}",
                     "stage": f"{dag.get('stage')}/{dag.get('max_stage')}",
                     "started": short_time(dag.get("start_time")),
                     "took": format_elapsed(took) if took is not None else NONE,
                     "lock": "holds the lock" if dag.get("holds_lock") else ""})
    return rows


def dag_list_view(title: str, dags: Sequence[Mapping[str, Any]], limit: int) -> list[str]:
    """A titled history table, newest first; says so when it may be cut at `limit`."""
    if not dags:
        return [f"{title}: none"]
    more = f" (the newest {limit}; --limit shows more)" if len(dags) >= limit else ""
    return [f"{title}, newest first{more}:", table(dag_rows(dags))]


def stage_logs(dag: Mapping[str, Any], index: int) -> list[str]:
    """One stage: its name and state, then every sub-task's full log, line by line."""
    node = nodes(dag)[index - 1]
    lines = [f"stage {index}/{dag.get('max_stage')}  {node.get('name')}  "
             f"{node.get('state')}/{node.get('operator')}"]
    for task in node.get("sub_tasks") or []:
        where = task.get("execute_agent") or {}
        on = f" on {where.get('ip')}:{where.get('port')}" if where.get("ip") else ""
        lines.append(f"  sub-task {task.get('id')} '{task.get('name')}'{on}, "
                     f"{task.get('execute_times', 0)} execution(s), {task.get('state')}")
        logs = task.get("task_logs") or []
        lines += [f"    {line}" for line in logs] or ["    (no log)"]
    return lines


def dag_logs_view(dag: Mapping[str, Any], stage: int | None = None) -> list[str]:
    """`obscale dag logs`: every stage's (or one stage's) logs in full, never cut."""
    lines = [f"DAG {dag.get('id')}  {dag.get('name')}  {outcome(dag)} "
             f"({dag.get('state')}/{dag.get('operator')}, stage {dag.get('stage')}/"
             f"{dag.get('max_stage')})"]
    chosen = [stage] if stage is not None else range(1, len(nodes(dag)) + 1)
    for index in chosen:
        lines += [""] + stage_logs(dag, index)
    return lines


def operator_verdict(dag: Mapping[str, Any], operator: str) -> tuple[str, bool] | None:
    """What to say instead of sending `operator` to a DAG that has ended or is already doing it,
    and whether that is the outcome asked for; None when the operator should be sent."""
    verb, done = OPERATOR_WORDS[operator]
    result, state, current = outcome(dag), dag.get("state"), dag.get("operator")
    name = f"DAG {dag.get('id')}"
    if state == "SUCCEED":
        satisfied = result in done
        extra = "" if satisfied or operator != "ROLLBACK" else (
            " (ROLLBACK undoes a FAILED DAG only; a finished scale-out is undone by scale-in)")
        return f"{name} already {result}; nothing to {verb}{extra}", satisfied
    if state == "FAILED":
        return None
    if operator == "RETRY" and current == "RUN":
        return f"{name} is running (stage {dag.get('stage')}/{dag.get('max_stage')}); " \
               "nothing to retry", True
    if operator == "ROLLBACK" and current == "ROLLBACK":
        return f"{name} is rolling back already; nothing to roll back", True
    if operator == "CANCEL" and current == "CANCEL":
        return f"{name} is being cancelled already; nothing to cancel", True
    return None
