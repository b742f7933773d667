"""`obscale takeover`: the first agent of a running cluster becomes its CLUSTER AGENT."""
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


def register(group: click.Group) -> None:
    """Add the takeover command."""
    group.add_command(takeover)
