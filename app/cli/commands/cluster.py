"""`obscale takeover`: the first agent of a running cluster becomes its CLUSTER AGENT;
`obscale root-password`: every member records the cluster's new root@sys password."""
from __future__ import annotations

import os
from pathlib import Path

import click

from app.cli.commands import home_config, home_option, open_database


def read_secret(env_name: str | None, prompt: str) -> str:
    """A secret from an environment variable or a hidden prompt, never from a flag value."""
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise click.ClickException(f"environment variable {env_name} is not set")
        return value
    return click.prompt(prompt, hide_input=True)


@click.command()
@home_option
@click.option("--ip", help="This agent's advertised IP (also OBSCALE_IP).")
@click.option("--port", type=int, help="This agent's port (also OBSCALE_PORT).")
@click.option("--mysql-port", type=int, default=2881, show_default=True,
              help="The local observer's MySQL port.")
@click.option("--root-password-env", metavar="VAR",
              help="Read the root@sys password from this environment variable (default: prompt).")
@click.option("--root-password", "root_password", metavar="PW",
              help="The root@sys password itself; discouraged, it lands in shell history.")
def takeover(home: Path, ip: str | None, port: int | None, mysql_port: int,
             root_password_env: str | None, root_password: str | None) -> None:
    """Take over the observer running from HOME: verify root@sys and become CLUSTER AGENT."""
    from app.errors import ApiError
    from app.scaleout.takeover import takeover as run_takeover
    from app.security import keystore

    config = home_config(home, IP=ip, PORT=port)
    if root_password is not None:
        click.echo("warning: --root-password lands in shell history; prefer --root-password-env",
                   err=True)
    password = root_password if root_password is not None else read_secret(
        root_password_env, "root@sys password")
    open_database(config)
    keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    try:
        result = run_takeover(config, password, mysql_port)
    except ApiError as exc:
        raise click.ClickException(f"{exc.err_code}: {exc.message}") from None
    click.echo(f"{config['IP']}:{config['PORT']} is now CLUSTER AGENT of cluster "
               f"{result['cluster']} (id {result['cluster_id']}), zone {result['zone']}, "
               f"mysql_port {result['mysql_port']}, rpc_port {result['rpc_port']}")


ROTATE_PATH = "/api/v1/agent/root_password"
REFUSED_OLD = "Security.Authentication.IncorrectOceanbasePassword"


@click.command("root-password")
@click.option("--agent", "agent", required=True, metavar="HOST:PORT",
              help="Any CLUSTER AGENT of the cluster; every member of its registry is updated.")
@click.option("--old-password-env", metavar="VAR", required=True,
              help="The root@sys password the agents have recorded (before ALTER USER).")
@click.option("--new-password-env", metavar="VAR", required=True,
              help="The new root@sys password, as set by ALTER USER root IDENTIFIED BY ...")
def root_password(agent: str, old_password_env: str, new_password_env: str) -> None:
    """Record the cluster's new root@sys password on every member, each checked by a login.

    Run it after `ALTER USER root IDENTIFIED BY '<new>'`; running it again is harmless (a member
    that already has the new password takes it again)."""
    from app.cli.client import HostPort, env_secret
    from app.peer.client import AgentClient

    host, port = HostPort().convert(agent, None, None)
    old, new = env_secret(old_password_env), env_secret(new_password_env)
    first = AgentClient(host, port)
    # The first one before the list: the registry lives in OceanBase, which the agent reaches
    # with the password it has recorded.
    if not _record(first, old, new):
        raise click.ClickException(f"{first.server} did not record the new password")
    members = [m for m in _members(first, old, new)
               if (str(m["ip"]), int(m["port"])) != (first.ip, first.port)]
    failed = [m for m in members if not _record(AgentClient(m["ip"], int(m["port"])), old, new)]
    members.append({"ip": first.ip, "port": first.port})
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(members)} member(s) did not record the "
                                   "new password; fix what is said above and run this again")
    click.echo(f"the new root@sys password is recorded on all {len(members)} member(s)")


def _with_either(client, method: str, path: str, body, old: str, new: str):
    """A call authenticated with the old password, or the new one where it is recorded already."""
    from app.peer.errors import PeerRefused

    try:
        return client.request(method, path, body, auth=old)
    except PeerRefused as exc:
        if exc.err_code != REFUSED_OLD:
            raise
    return client.request(method, path, body, auth=new)


def _members(client, old: str, new: str) -> list[dict]:
    from app.cli.client import ClientError, describe
    from app.peer.errors import PeerError

    try:
        rows = _with_either(client, "GET", "/rpc/v1/agent/registry", None, old, new)["contents"]
    except PeerError as exc:
        raise ClientError(describe(exc)) from None
    if not rows:
        raise click.ClickException(f"{client.server} lists no members: is it a CLUSTER AGENT?")
    return rows


def _record(client, old: str, new: str) -> bool:
    from app.cli.client import describe
    from app.peer.errors import PeerError

    try:
        _with_either(client, "POST", ROTATE_PATH, {"password": new}, old, new)
    except PeerError as exc:
        click.echo(f"{client.server}: {describe(exc)}", err=True)
        return False
    click.echo(f"{client.server}: new root@sys password recorded")
    return True


def register(group: click.Group) -> None:
    """Add the takeover and root-password commands."""
    group.add_command(takeover)
    group.add_command(root_password)
