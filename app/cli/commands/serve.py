"""`obscale serve`, `obscale migrate` and the hidden `obscale worker`."""
from __future__ import annotations

from pathlib import Path

import click

from app.cli.commands import home_config, home_option, open_database, setup_logging


@click.command()
@home_option
@click.option("--ip", help="Address to listen on and advertise (default 127.0.0.1; also "
                           "OBSCALE_IP).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Agent port (default 2886; also OBSCALE_PORT).")
@click.option("--workers", type=click.IntRange(1, 64),
              help="gunicorn workers (default 1; also OBSCALE_WORKERS).")
def serve(home: Path, ip: str | None, port: int | None, workers: int | None) -> None:
    """Run the agent: migrations, then gunicorn and the task consumer, supervised."""
    from app.process.supervisor import ServeError, check_home, serve as run_serve

    config = home_config(home, IP=ip, PORT=port, WORKERS=workers)
    try:
        check_home(config)  # before logging, which writes under the state folder
        setup_logging(config, "serve.log")
        status = run_serve(config)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(status)


@click.command()
@home_option
def migrate(home: Path) -> None:
    """Apply pending schema migrations to this home's agent database."""
    config = home_config(home)
    open_database(config)
    click.echo(f"database {config['DATABASE']} is up to date")


@click.command(hidden=True)
@home_option
def worker(home: Path) -> None:
    """The huey consumer (started by `obscale serve`)."""
    from app.process.worker import run_worker

    run_worker(home)


def register(group: click.Group) -> None:
    """Add serve, migrate and worker."""
    for command in (serve, migrate, worker):
        group.add_command(command)
