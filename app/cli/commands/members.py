"""`obscale members --agent HOST:PORT`: the cluster's servers, zones and agents side by side."""
from __future__ import annotations

import json

import click

from app.cli.client import agent_option, open_session
from app.cli.listing import members_view


@click.command()
@agent_option
@click.option("--json", "as_json", is_flag=True, help="Print GET /api/v1/ob/info as JSON.")
def members(agent: tuple[str, int], password_env: str | None, as_json: bool) -> None:
    """Show every zone and server of the cluster (status, start-service time) with its agent
    (identity, version), as OceanBase and the agent registry report them."""
    session = open_session(agent, password_env)
    info = session.call("GET", "/api/v1/ob/info")
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for line in members_view(info, session.agent):
        click.echo(line)


def register(group: click.Group) -> None:
    """Add the members command."""
    group.add_command(members)
