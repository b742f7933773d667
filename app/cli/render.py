"""Views of the CLI's output: pure functions from DAG, check and table data to text."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

UNSET_TIME = "0001-01-01T00:00:00Z"
MAX_FAILED_LOG_LINES = 20
ERROR_HINTS = {
    "Security.Authentication.IncorrectOceanbasePassword":
        "the root@sys password is wrong; check the variable given to --password-env",
    "Security.Authentication.WithAgentPassword":
        "this agent checks its agent password, not root@sys; use the SDK's agent_password",
    "Security.Authentication.Unauthorized":
        "the agent has no root@sys password on record; its state was lost: take it over again",
    "Security.Authentication.Expired": "the clocks differ; compare `date` with GET /api/v1/time",
    "Security.Authentication.Timestamp.Invalid":
        "the clocks differ; compare `date` with GET /api/v1/time",
    "Security.Authentication.Header.DecryptError": "the agent's key changed; run the command again",
    "Agent.Identify.NotSupportOperation":
        "--agent must be the CLUSTER AGENT and --target a SINGLE agent",
    "Agent.AlreadyExists": "the target is already a server of this cluster",
    "Agent.RPC.RequestFailed": "the coordinator cannot reach that agent; is `obscale serve` running?",
    "Agent.OB.Version.Inconsistent": "install the same OceanBase version on the new host",
    "OB.Cluster.ScaleOutHigherVersion": "install the same obscale version on both hosts",
    "OB.Cluster.ScaleOutLowerVersion": "install the same obscale version on both hosts",
    "OB.Cluster.UnderMaintenanceWithDag":
        "another DAG holds the cluster lock; finish it (dag show, retry or rollback) first",
    "OB.Cluster.UnderMaintenance": "another DAG holds the cluster lock; wait, or finish it first",
    "Task.NotFound": "this agent does not know that id (cluster ids start with 1)",
    "OB.ClusterStore.Unavailable":
        "this member cannot reach OceanBase; ask another member with --agent, or check its observer",
}


HOLDER_ID = re.compile(r"by DAG (\d+)\b")


def error_hint(err_code: str, message: str = "", agent: str = "") -> str:
    """What to do about an errCode, or '' when there is nothing specific to say.

    For a held cluster lock the message names the holder's generic id: the hint is the command
    that shows it (on `agent`, any member of the cluster)."""
    if err_code.startswith("Task.Dag.Operator.") and "NotFailed" in err_code:
        return "the DAG is not FAILED; look at it with `obscale dag show`"
    holder = HOLDER_ID.search(message) if err_code == "OB.Cluster.UnderMaintenanceWithDag" else None
    if holder:
        where = f" --agent {agent}" if agent else ""
        return (f"DAG {holder.group(1)} holds the cluster lock; see it with `obscale dag show "
                f"{holder.group(1)}{where}`, then wait for it, or retry or roll it back")
    return ERROR_HINTS.get(err_code, "")


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as an aligned text table (columns default to the first row's keys)."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    cells = [["" if row.get(col) is None else str(row.get(col)) for col in columns]
             for row in rows]
    widths = [max([len(col)] + [len(line[i]) for line in cells]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(width) for col, width in zip(columns, widths))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def outcome(dag: Mapping[str, Any]) -> str:
    """succeeded, rolled back, passed, failed, rollback failed, cancelled, or running."""
    state, operator = dag.get("state"), dag.get("operator")
    flags = dag.get("additional_data") or {}
    if state == "SUCCEED":
        if operator == "ROLLBACK" or flags.get("rolled_back"):
            return "rolled back"
        if operator == "PASS" or flags.get("passed"):
            return "passed"
        return "succeeded"
    if state == "FAILED":
        return {"CANCEL": "cancelled", "ROLLBACK": "rollback failed"}.get(operator, "failed")
    return "running"


def nodes(dag: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The DAG's nodes ([] without details)."""
    return list(dag.get("nodes") or [])


def current_node(dag: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The node at the DAG's stage."""
    stage, found = int(dag.get("stage") or 0), nodes(dag)
    return found[stage - 1] if 1 <= stage <= len(found) else None


def failed_node(dag: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first FAILED node."""
    return next((node for node in nodes(dag) if node.get("state") == "FAILED"), None)


def node_logs(node: Mapping[str, Any] | None) -> list[str]:
    """Every task_logs line of a node's sub-tasks, prefixed by the agent that ran it."""
    lines = []
    for task in (node or {}).get("sub_tasks") or []:
        agent = task.get("execute_agent") or {}
        where = f"{agent.get('ip')}:{agent.get('port')} " if agent.get("ip") else ""
        lines += [f"{where}{line}" for line in task.get("task_logs") or []]
    return lines


def latest_log(node: Mapping[str, Any] | None) -> str:
    """The newest log line of a node ('' when it has none)."""
    for task in reversed((node or {}).get("sub_tasks") or []):
        if task.get("task_logs"):
            return str(task["task_logs"][-1])
    return ""


def stages_done(dag: Mapping[str, Any]) -> int:
    """Nodes that have finished (SUCCEED), or the stage reached when details are off."""
    found = nodes(dag)
    if found:
        return sum(1 for node in found if node.get("state") == "SUCCEED")
    stage = int(dag.get("stage") or 0)
    return stage if dag.get("state") == "SUCCEED" else max(stage - 1, 0)


def stage_counts(dag: Mapping[str, Any]) -> tuple[int, int]:
    """(done, total): stages finished out of max_stage; while rolling back, stages undone."""
    undoing = [node for node in nodes(dag) if node.get("operator") == "ROLLBACK"]
    if dag.get("operator") == "ROLLBACK" and undoing:
        return sum(1 for node in undoing if node.get("state") == "SUCCEED"), len(undoing)
    return stages_done(dag), int(dag.get("max_stage") or 0)


def bar(done: int, total: int, width: int = 20) -> str:
    """[#######.............]"""
    filled = 0 if total <= 0 else round(width * min(done, total) / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def format_elapsed(seconds: float) -> str:
    """12.3s, 2m05s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 DTO time; None when unset or unreadable."""
    if not value or value == UNSET_TIME:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def elapsed_seconds(dag: Mapping[str, Any], now: datetime | None = None) -> float | None:
    """From the DAG's start to its end (or to now while it runs); None before it starts."""
    start = parse_time(dag.get("start_time"))
    if start is None:
        return None
    end = parse_time(dag.get("end_time")) or now or datetime.now(timezone.utc)
    return max((end - start).total_seconds(), 0.0)


def progress_line(dag: Mapping[str, Any], elapsed: float) -> str:
    """One line: bar, stages done/max, elapsed time, the running stage and its latest log."""
    done, total = stage_counts(dag)
    node = current_node(dag)
    name = node.get("name", "") if node else ""
    doing = outcome(dag)
    if doing == "running":
        doing = "rolling back" if dag.get("operator") == "ROLLBACK" else str(dag.get("state")).lower()
    text = f"{bar(done, total)} {done}/{total} {format_elapsed(elapsed)} {doing}"
    if name:
        text += f" stage {dag.get('stage')}: {name}"
    log_line = latest_log(node)
    if log_line and node and node.get("state") == "RUNNING":
        text += f" | {log_line}"
    return text


def operator_command(operator: str, dag_id: str, agent: str, password_env: str | None) -> str:
    """The exact `obscale dag <operator>` command line for this DAG."""
    parts = ["obscale", "dag", operator.lower(), str(dag_id), "--agent", agent]
    if password_env:
        parts += ["--password-env", password_env]
    return " ".join(parts + ["--wait"])


def failure_report(dag: Mapping[str, Any], agent: str, password_env: str | None) -> list[str]:
    """The failed stage, its logs, and the commands that retry or roll back."""
    node = failed_node(dag) or current_node(dag) or {}
    result = outcome(dag)
    lines = [f"DAG {dag.get('id')} '{dag.get('name')}' {result} at stage {dag.get('stage')}/"
             f"{dag.get('max_stage')}: {node.get('name', '?')}"]
    logs = node_logs(node)[-MAX_FAILED_LOG_LINES:] or ["(the stage wrote no log)"]
    lines += [f"  {line}" for line in logs]
    if result != "rollback failed":
        lines += ["To retry the failed stage (after fixing its cause):",
                  f"  {operator_command('RETRY', dag.get('id', ''), agent, password_env)}"]
    lines += ["To roll back everything this DAG did:",
              f"  {operator_command('ROLLBACK', dag.get('id', ''), agent, password_env)}"]
    return lines


# What a rolled-back DAG left as it was, by DAG name.
UNDONE = {"Cluster scale out": "nothing was scaled out.", "Local scale out": "nothing was scaled out.",
          "Cluster scale in": "the server and its agent stay in the cluster.",
          "Delete zone": "the zone is back, ACTIVE."}


def final_report(dag: Mapping[str, Any], agent: str, password_env: str | None) -> list[str]:
    """How a finished DAG ended, in words that do not call a rollback a success."""
    result = outcome(dag)
    head = f"DAG {dag.get('id')} '{dag.get('name')}' {result}"
    took = elapsed_seconds(dag)
    took_text = f" in {format_elapsed(took)}" if took is not None else ""
    if result == "succeeded":
        return [f"{head}{took_text}: {dag.get('max_stage')}/{dag.get('max_stage')} stages done."]
    if result == "rolled back":
        return [f"{head}{took_text}: every stage was undone (rolled_back=true); "
                f"{UNDONE.get(str(dag.get('name')), 'nothing was changed.')}"]
    if result == "passed":
        return [f"{head}{took_text}: finished by PASS (passed=true); the stages it skipped "
                "were not run."]
    return failure_report(dag, agent, password_env)


def _clip(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def dag_view(dag: Mapping[str, Any]) -> list[str]:
    """`dag show`: the DAG, one row per stage with its latest log line, the failed stage's logs."""
    took = elapsed_seconds(dag)
    lines = [f"DAG {dag.get('id')}  {dag.get('name')}",
             f"state     {dag.get('state')}/{dag.get('operator')} ({outcome(dag)})",
             f"stage     {dag.get('stage')}/{dag.get('max_stage')}",
             f"started   {dag.get('start_time')}",
             f"ended     {dag.get('end_time')}"
             + (f"  ({format_elapsed(took)})" if took is not None else "")]
    flags = {key: value for key, value in (dag.get("additional_data") or {}).items()
             if key in ("rolled_back", "passed")}
    if flags:
        lines.append("flags     " + " ".join(f"{key}={str(value).lower()}"
                                             for key, value in flags.items()))
    rows = [{"#": index, "stage": node.get("name"), "state": node.get("state"),
             "operator": node.get("operator"), "latest log": _clip(latest_log(node))}
            for index, node in enumerate(nodes(dag), start=1)]
    if rows:
        lines += ["", table(rows)]
    failed = failed_node(dag)
    if failed is not None:
        lines += ["", f"logs of the failed stage '{failed.get('name')}':"]
        lines += [f"  {line}" for line in node_logs(failed)[-MAX_FAILED_LOG_LINES:]]
    return lines


def checks_view(result: Mapping[str, Any]) -> list[str]:
    """The precheck answer as a table and a verdict line."""
    checks = list(result.get("checks") or [])
    columns = ["name", "status", "observed", "required", "hint"]
    failed = [str(check.get("name")) for check in checks if check.get("status") == "fail"]
    warned = sum(1 for check in checks if check.get("status") == "warn")
    verdict = (f"precheck FAILED: {', '.join(failed)}" if failed or not result.get("passed")
               else f"precheck passed: {len(checks)} checks, {warned} warning(s)")
    return [table(checks, columns), "", verdict]


def sandbox_usage(sandbox: Mapping[str, Any]) -> list[str]:
    """How to use a running sandbox: its agents, the CLI and the SDK (never its password)."""
    cluster, agents = sandbox["cluster"], list(sandbox["agents"])
    directory, coordinator = sandbox["dir"], f"{agents[0]['ip']}:{agents[0]['port']}"
    lines = [f"sandbox cluster {cluster['name']} (id {cluster['id']}), SQL on "
             f"{cluster['mysql_ip']}:{cluster['mysql_port']}, zone {cluster['zone']}"]
    lines += [f"  agent {agent['ip']}:{agent['port']}  {agent['identity']}" for agent in agents]
    lines += [f"details and the root@sys password: {directory}/sandbox.json (mode 0600)", "",
              "Use it from the CLI:",
              f'  export OB_ROOT_PASSWORD="$(obscale sandbox password --dir {directory})"']
    target, last = (agents[1], agents[-1]) if len(agents) > 1 else (None, None)
    if target is not None:
        where = (f"--agent {coordinator} --target {target['ip']}:{target['port']} "
                 f"--zone {cluster['zone']} --password-env OB_ROOT_PASSWORD")
        lines += [f"  obscale precheck {where}", f"  obscale scale-out {where} --wait"]
    lines += [f"  obscale sandbox status --dir {directory}",
              f"  obscale sandbox down --dir {directory}", "",
              "Or from the obshell SDK (pip install obshell==0.0.9):",
              "  import os",
              "  from obshell import ClientV1",
              "  from obshell.auth.password import PasswordAuth",
              f"  client = ClientV1('{agents[0]['ip']}', {agents[0]['port']}, "
              "PasswordAuth(os.environ['OB_ROOT_PASSWORD']))"]
    if last is not None:
        lines += [f"  dag = client.scale_out('{last['ip']}', {last['port']}, 'zone2', "
                  "{'mysql_port': '2881', 'rpc_port': '2882'})",
                  "  client.wait_dag_succeed(dag.generic_id)"]
    return lines
