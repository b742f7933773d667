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


def register(group: click.Group) -> None:
    """Add the agent group."""
    group.add_command(agent)
