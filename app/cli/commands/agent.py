"""`obscale agent ...`: this agent's own settings."""
from __future__ import annotations

import os
from pathlib import Path

import click

from app.cli.commands import home_config, home_option, open_database


@click.group()
def agent() -> None:
    """This agent's own settings."""


@agent.command("set-password")
@home_option
@click.option("--password-env", metavar="VAR",
              help="Read the password from this environment variable instead of a prompt.")
def set_password(home: Path, password_env: str | None) -> None:
    """Set the agent password (stored as a salted hash; never given on the command line)."""
    from app.node import identity as agent_state

    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise click.ClickException(f"environment variable {password_env} is not set")
    else:
        password = click.prompt("Agent password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("the agent password must not be empty")
    open_database(home_config(home))
    agent_state.set_agent_password(password)
    click.echo("agent password set")


@agent.command("reset")
@home_option
@click.option("--force", is_flag=True,
              help="Go on when neither the local observer nor any cluster member can say whether "
                   "the cluster lists this node's server (you know that it does not).")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="Seconds to wait for the agent's consumer to finish the rollback.")
def reset(home: Path, force: bool, timeout: float) -> None:
    """Return a stuck SCALING OUT agent to SINGLE: its scale-out DAG is cancelled if it still
    runs and rolled back without the cluster DAG (observer stopped, what it made removed).
    Refused while the cluster lists this node's server. `obscale serve` must be running."""
    import time

    from app.dags import build_engines
    from app.db import connection
    from app.scaleout import reset as resetting
    from app.security import keystore

    config = home_config(home)
    open_database(config)
    keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    engine = build_engines({**config, "QUEUE_IMMEDIATE": False}).agent
    with connection():
        try:
            dag = resetting.check(engine, config, force)
        except resetting.ResetRefused as refused:
            raise click.ClickException(f"reset refused: {refused}") from None
        if dag is None:
            click.echo("this agent is SINGLE already; nothing to do")
            return
        click.echo(f"DAG {dag.id} ({dag.name}): {resetting.start(engine, dag)}")
    deadline = time.monotonic() + timeout
    rolling = False
    while time.monotonic() < deadline:
        with connection():
            if resetting.rolled_back(engine, dag.id):
                click.echo("rolled back: the agent is SINGLE again")
                return
            if not rolling and resetting.failed(engine, dag.id):
                engine.operate(dag.id, "ROLLBACK")
                click.echo("cancelled; rollback started")
                rolling = True
        time.sleep(0.5)
    raise click.ClickException(f"DAG {dag.id} did not finish its rollback within {timeout:g} s; "
                               "is `obscale serve` running? Look at it with `obscale dag show`")


def register(group: click.Group) -> None:
    """Add the agent group."""
    group.add_command(agent)
