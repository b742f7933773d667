"""`obscale dag list|show|logs|watch|retry|rollback|cancel|pass --agent HOST:PORT`."""
from __future__ import annotations

import json
from typing import Any, Collection

import click

from app.cli.render import dag_view
from app.cli.client import ClientError, Session, agent_option, open_session
from app.cli.listing import dag_list_view, dag_logs_view, operator_verdict
from app.cli.watch import SCALE_OUT_DONE, fetch_dag, watch

# operator -> (the outcome its --wait expects, help text)
OPERATORS = {
    "RETRY": (SCALE_OUT_DONE, "Run the failed stage of a FAILED DAG again, then go on."),
    "ROLLBACK": (("rolled back",), "Undo every finished stage of a FAILED DAG, newest first."),
    "CANCEL": (("cancelled",), "Stop a running DAG at its next check; it ends FAILED (then "
                               "retry or roll it back)."),
    "PASS": (("passed",), "Mark a FAILED DAG's remaining stages passed (not run)."),
}


def _dag_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.isdigit():
        raise click.BadParameter(f"{value!r} is not a DAG id (digits, e.g. 11)")
    return value


dag_id_argument = click.argument("dag_id", metavar="ID", callback=_dag_id)
# The API's bounds (app.schemas.task; importing it would load Flask into the CLI).
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 20, 100


@click.group()
def dag() -> None:
    """Look at and operate on DAGs (tasks) through an agent."""


@dag.command()
@dag_id_argument
@agent_option
@click.option("--json", "as_json", is_flag=True, help="Print the DAG as JSON.")
def show(dag_id: str, agent: tuple[str, int], password_env: str | None, as_json: bool) -> None:
    """Show a DAG: state, every stage with its latest log line, the failed stage's logs."""
    detail = fetch_dag(open_session(agent, password_env), dag_id)
    if as_json:
        click.echo(json.dumps(detail, indent=2))
        return
    for line in dag_view(detail):
        click.echo(line)


@dag.command("watch")
@dag_id_argument
@agent_option
def watch_dag(dag_id: str, agent: tuple[str, int], password_env: str | None) -> None:
    """Follow a DAG until it finishes (exit 0 only if it succeeded or was passed)."""
    raise SystemExit(watch(open_session(agent, password_env), dag_id))


def _already(session: Session, dag_id: str, operator: str) -> bool:
    """Read the DAG first: one that has ended, or is doing this already, is not sent the
    operator (the API would answer 200 and change nothing, wire spec §7.3, or refuse it); say
    so. True when the operator is not to be sent (--wait still follows the DAG)."""
    dag = session.call("GET", f"/api/v1/task/dag/{dag_id}", query={"show_details": "false"})
    verdict = operator_verdict(dag, operator)
    if verdict is None:
        return False
    message, satisfied = verdict
    if not satisfied:
        raise ClientError(message)
    click.echo(message)
    return True


def _operator_command(operator: str, expected: Collection[str], help_text: str) -> click.Command:
    @click.command(operator.lower(), help=help_text)
    @dag_id_argument
    @agent_option
    @click.option("--wait", is_flag=True, help="Show live progress until the DAG finishes.")
    def command(dag_id: str, agent: tuple[str, int], password_env: str | None,
                wait: bool) -> Any:
        session = open_session(agent, password_env)
        if not _already(session, dag_id, operator):
            session.call("POST", f"/api/v1/task/dag/{dag_id}", {"operator": operator})
            click.echo(f"{operator} accepted for DAG {dag_id}")
        if wait:
            raise SystemExit(watch(session, dag_id, expected))

    return command


@dag.command("list")
@agent_option
@click.option("--limit", type=click.IntRange(1, LIST_LIMIT_MAX), default=LIST_LIMIT_DEFAULT,
              show_default=True, help="At most this many DAGs of each kind, newest first.")
@click.option("--local", "scope", flag_value="agent", help="Only the agent's own (local) DAGs.")
@click.option("--cluster", "scope", flag_value="ob", help="Only the cluster's DAGs.")
@click.option("--json", "as_json", is_flag=True, help="Print the lists as JSON.")
def list_dags(agent: tuple[str, int], password_env: str | None, limit: int, scope: str | None,
              as_json: bool) -> None:
    """List the cluster's DAGs and the agent's own, newest first; the lock holder is marked."""
    session = open_session(agent, password_env)
    kinds = [scope] if scope else ["ob", "agent"]
    found = {kind: session.call("GET", f"/api/v1/task/dags/{kind}",
                                query={"limit": str(limit), "show_details": "false"})["contents"]
             for kind in kinds}
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    titles = {"ob": "cluster DAGs", "agent": f"local DAGs of {session.agent}"}
    for index, kind in enumerate(kinds):
        for line in ([""] if index else []) + dag_list_view(titles[kind], found[kind], limit):
            click.echo(line)


@dag.command()
@dag_id_argument
@agent_option
@click.option("--stage", type=int, metavar="N", help="Only stage N (1 is the first).")
def logs(dag_id: str, agent: tuple[str, int], password_env: str | None,
         stage: int | None) -> None:
    """Print every stage's logs in full (or one stage's with --stage N)."""
    detail = fetch_dag(open_session(agent, password_env), dag_id)
    count = len(detail.get("nodes") or [])
    if stage is not None and not 1 <= stage <= count:
        raise click.BadParameter(f"DAG {dag_id} has stages 1-{count}; {stage} is not one of them",
                                 param_hint="'--stage'")
    for line in dag_logs_view(detail, stage):
        click.echo(line)


for _name, (_expected, _help) in OPERATORS.items():
    dag.add_command(_operator_command(_name, _expected, _help))


def register(group: click.Group) -> None:
    """Add the dag group."""
    group.add_command(dag)
