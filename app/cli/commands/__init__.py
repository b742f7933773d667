"""`obscale` sub-commands: one module per group, each with `register(group)`.

Shared helpers for the commands live here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from app.config import load_config
from app.process.logs import setup_logging  # noqa: F401 - the commands import it from here


def home_option(function: Callable) -> Callable:
    """--home DIR: the observer home of this node (also OBSCALE_HOME)."""
    return click.option("--home", envvar="OBSCALE_HOME", required=True,
                        type=click.Path(file_okay=False, path_type=Path),
                        help="Observer home of this node; agent state goes in <home>/obscale/.")(function)


def home_config(home: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for this home: defaults < OBSCALE_* environment < the given flags."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return load_config({"HOME": str(home.resolve()), **values})


def open_database(config: dict[str, Any]) -> None:
    """Bind the database to this home's file and apply pending migrations."""
    from app.db import connection, init_db
    from app.migrate import run_migrations

    if not Path(config["HOME"]).is_dir():
        raise click.ClickException(f"home {config['HOME']} is not a directory")
    init_db(config["DATABASE"])
    with connection():
        run_migrations()

