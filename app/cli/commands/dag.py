"""`obscale dag show|watch|retry|rollback|cancel|pass ID --agent HOST:PORT`."""
from __future__ import annotations

import json
from typing import Any, Collection

import click

from app.cli.render import dag_view
from app.cli.client import agent_option, open_session
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


def _operator_command(operator: str, expected: Collection[str], help_text: str) -> click.Command:
    @click.command(operator.lower(), help=help_text)
    @dag_id_argument
    @agent_option
    @click.option("--wait", is_flag=True, help="Show live progress until the DAG finishes.")
    def command(dag_id: str, agent: tuple[str, int], password_env: str | None,
                wait: bool) -> Any:
        session = open_session(agent, password_env)
        session.call("POST", f"/api/v1/task/dag/{dag_id}", {"operator": operator})
        click.echo(f"{operator} accepted for DAG {dag_id}")
        if wait:
            raise SystemExit(watch(session, dag_id, expected))

    return command


for _name, (_expected, _help) in OPERATORS.items():
    dag.add_command(_operator_command(_name, _expected, _help))


def register(group: click.Group) -> None:
    """Add the dag group."""
    group.add_command(dag)
