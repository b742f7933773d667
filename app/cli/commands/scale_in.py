"""`obscale scale-in` and `obscale zone delete`: shrink a cluster from the command line."""
from __future__ import annotations

import click

from app.cli.client import HostPort, agent_option, open_session
from app.cli.watch import watch, watch_command


def _follow(session, dag: dict, wait: bool) -> None:
    if not wait:
        click.echo(f"follow it with: {watch_command(dag['id'], session)}")
        return
    raise SystemExit(watch(session, str(dag["id"])))


@click.command("scale-in")
@agent_option
@click.option("--target", required=True, type=HostPort(),
              help="The agent of the server to remove (a member of the cluster); port 2886 if "
                   "omitted.")
@click.option("--force-kill", is_flag=True,
              help="The target's host is dead: skip its agent's part (refused while its server "
                   "serves).")
@click.option("--remove-data", is_flag=True,
              help="Also remove the data directories its scale-out created (left by default).")
@click.option("--wait", is_flag=True, help="Show live progress until the DAG finishes.")
def scale_in(agent: tuple[str, int], password_env: str | None, target: tuple[str, int],
             force_kill: bool, remove_data: bool, wait: bool) -> None:
    """Remove the --target agent's server from the cluster; its agent becomes SINGLE."""
    session = open_session(agent, password_env)
    body = {"agent_info": {"ip": target[0], "port": target[1]}, "force_kill": force_kill,
            "remove_data": remove_data}
    dag = session.call("POST", "/api/v1/ob/scale_in", body)
    if dag is None:
        click.echo(f"{target[0]}:{target[1]} is not in the cluster: nothing to scale in")
        return
    click.echo(f"scale-in DAG {dag['id']} created: {target[0]}:{target[1]} leaves the cluster, "
               f"{dag['max_stage']} stages ({dag['state']})")
    _follow(session, dag, wait)


@click.group("zone")
def zone() -> None:
    """Zones of the cluster."""


@zone.command("delete")
@agent_option
@click.argument("name")
@click.option("--wait", is_flag=True, help="Show live progress until the DAG finishes.")
def zone_delete(agent: tuple[str, int], password_env: str | None, name: str, wait: bool) -> None:
    """STOP ZONE then DELETE ZONE NAME (refused while it holds servers or units)."""
    session = open_session(agent, password_env)
    dag = session.call("DELETE", f"/api/v1/zone/{name}")
    click.echo(f"zone removal DAG {dag['id']} created: zone {name}, {dag['max_stage']} stages "
               f"({dag['state']})")
    _follow(session, dag, wait)


def register(group: click.Group) -> None:
    """Add scale-in and zone."""
    group.add_command(scale_in)
    group.add_command(zone)
