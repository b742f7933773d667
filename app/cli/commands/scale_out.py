"""`obscale scale-out` and `obscale precheck`: grow a cluster by one server from the command line."""
from __future__ import annotations

import sys
from typing import Any, Callable

import click

from app.cli.render import checks_view
from app.cli.client import (EXIT_FAILED, ClientError, HostPort, Session, agent_option, env_secret,
                            open_session, parse_configs)
from app.cli.listing import zone_names
from app.cli.watch import watch, watch_command


def target_options(function: Callable) -> Callable:
    """--target IP:PORT, --zone, -c key=value and --target-password-env."""
    options = [
        click.option("--target-password-env", metavar="VAR",
                     help="The target agent's password, from this environment variable "
                          "(default: none)."),
        click.option("-c", "--config", "configs", multiple=True, metavar="KEY=VALUE",
                     help="An observer setting (obConfigs), e.g. -c memory_limit=8G; repeatable."),
        click.option("--zone", required=True, help="Zone of the new server; one the cluster "
                                                   "does not have yet is created (scale-out "
                                                   "asks first)."),
        click.option("--target", required=True, type=HostPort(),
                     help="The new host's agent (a SINGLE agent); port 2886 if omitted."),
    ]
    for option in options:
        function = option(function)
    return function


def request_body(target: tuple[str, int], zone: str, configs: tuple[str, ...],
                 target_password_env: str | None) -> dict[str, Any]:
    """The body of POST /api/v1/ob/scale_out (and of its precheck)."""
    password = env_secret(target_password_env) if target_password_env else ""
    return {"agentInfo": {"ip": target[0], "port": target[1]}, "zone": zone,
            "obConfigs": parse_configs(configs), "targetAgentPassword": password}


def stdin_is_terminal() -> bool:
    """Can the user be asked a question?"""
    return sys.stdin.isatty()


def confirm_new_zone(session: Session, zone: str, new_zone: bool) -> None:
    """A zone the cluster does not have yet is created only when the user says so: --new-zone
    (or --yes), or a yes on a terminal. A zone that differs only in case goes to the agent,
    which refuses it in its own words."""
    existing = zone_names(session.call("GET", "/api/v1/ob/info"))
    if not existing or zone.lower() in {name.lower() for name in existing}:
        return
    known = ", ".join(existing)
    if new_zone:
        click.echo(f"zone {zone} does not exist yet: the scale-out creates it (existing: {known})")
        return
    question = f"zone {zone} does not exist (existing: {known}); create it?"
    if not stdin_is_terminal():
        raise ClientError(f"zone {zone} does not exist (existing: {known}); pass --new-zone to "
                          "create it, or choose an existing zone")
    click.confirm(question, abort=True)


@click.command("scale-out")
@agent_option
@target_options
@click.option("--new-zone", is_flag=True, help="Create --zone if the cluster does not have it "
                                               "(otherwise asked on a terminal, refused elsewhere).")
@click.option("--yes", "-y", "yes", is_flag=True, help="Answer yes to every question.")
@click.option("--wait", is_flag=True, help="Show live progress until the DAG finishes.")
def scale_out(agent: tuple[str, int], password_env: str | None, target: tuple[str, int],
              zone: str, configs: tuple[str, ...], target_password_env: str | None,
              new_zone: bool, yes: bool, wait: bool) -> None:
    """Add the host of the --target agent to the cluster of the --agent (a CLUSTER AGENT)."""
    body = request_body(target, zone, configs, target_password_env)
    session = open_session(agent, password_env)
    confirm_new_zone(session, zone, new_zone or yes)
    dag = session.call("POST", "/api/v1/ob/scale_out", body)
    click.echo(f"scale-out DAG {dag['id']} created: {target[0]}:{target[1]} into zone {zone}, "
               f"{dag['max_stage']} stages ({dag['state']})")
    if not wait:
        click.echo(f"follow it with: {watch_command(dag['id'], session)}")
        return
    raise SystemExit(watch(session, str(dag["id"])))


@click.command()
@agent_option
@target_options
def precheck(agent: tuple[str, int], password_env: str | None, target: tuple[str, int],
             zone: str, configs: tuple[str, ...], target_password_env: str | None) -> None:
    """Run every scale-out check without creating anything; exit 1 if one fails."""
    body = request_body(target, zone, configs, target_password_env)
    result = open_session(agent, password_env).call("POST", "/api/v1/ob/scale_out/precheck", body)
    for line in checks_view(result):
        click.echo(line)
    if not result.get("passed") or any(c.get("status") == "fail" for c in result.get("checks", [])):
        raise SystemExit(EXIT_FAILED)


def register(group: click.Group) -> None:
    """Add scale-out and precheck."""
    group.add_command(scale_out)
    group.add_command(precheck)
