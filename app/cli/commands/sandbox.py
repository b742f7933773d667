"""`obscale sandbox up|down|status|password --dir DIR`: a local emulated cluster to try obscale on.

app.sandbox (which needs obemu) is imported inside the commands, so that every other command
works where obemu's extras are not installed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from app.cli.render import sandbox_usage, table

dir_option = click.option("--dir", "directory", required=True,
                          type=click.Path(file_okay=False, path_type=Path),
                          help="Folder of the sandbox (sandbox.json, homes, logs).")


def _load(directory: Path) -> Any:
    from app.sandbox import SandboxError, load

    try:
        return load(directory)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def sandbox() -> None:
    """A local sandbox cluster: obemu observers and real obscale agents on loopback addresses."""


@sandbox.command()
@dir_option
@click.option("--spare", type=click.IntRange(0, 20), default=2, show_default=True,
              help="SINGLE agents to start next to the cluster.")
@click.option("--base-ip", default="127.0.0.1", show_default=True,
              help="First loopback address; the spares take the next ones.")
@click.option("--zone", default="zone1", show_default=True, help="Zone of the first server.")
def up(directory: Path, spare: int, base_ip: str, zone: str) -> None:
    """Start a one-node cluster taken over by its agent, plus SPARE agents to scale out to."""
    from app.sandbox import SandboxError
    from app.sandbox.up import up as bring_up

    try:
        started = bring_up(directory, spare, base_ip, zone, report=click.echo)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from None
    for line in ["", *sandbox_usage(started.to_json())]:
        click.echo(line)


@sandbox.command()
@dir_option
def down(directory: Path) -> None:
    """Stop every agent and observer of the sandbox, by pid."""
    from app.sandbox.control import down as stop

    _load(directory)
    report = stop(directory)
    click.echo(f"stopped {len(report.stopped)} process(es)"
               + (f": {', '.join(map(str, report.stopped))}" if report.stopped else ""))
    if report.left:
        raise click.ClickException(f"could not stop pid(s) {', '.join(map(str, report.left))}")


@sandbox.command()
@dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(directory: Path, as_json: bool) -> None:
    """Show the sandbox's agents, observers, servers and zones."""
    from app.sandbox.control import status as read_status

    result = read_status(_load(directory))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    cluster = result["cluster"]
    click.echo(f"sandbox {result['dir']} ({result['state']}): cluster {cluster['name']} "
               f"(id {cluster['id']}), SQL on {cluster['mysql_ip']}:{cluster['mysql_port']}")
    for title in ("agents", "observers", "servers", "zones"):
        click.echo(f"\n{title}:\n{table(result[title]) if result[title] else '  (none)'}")
    if result["sql_error"]:
        click.echo(f"\ncluster not reachable over SQL: {result['sql_error']}")


@sandbox.command()
@dir_option
def password(directory: Path) -> None:
    """Print the sandbox's root@sys password (for `export OB_ROOT_PASSWORD=...`)."""
    click.echo(_load(directory).root_password)


def register(group: click.Group) -> None:
    """Add the sandbox group."""
    group.add_command(sandbox)
