"""The `obscale` command: a click group whose commands live in app/cli/commands/*.py.

Each module there defines `register(group)`; they are discovered when the command runs, so
adding a command never means editing this file.
"""
from __future__ import annotations

import configparser
import importlib
import importlib.metadata
import pkgutil
from pathlib import Path

import click

DISTRIBUTION = "obscale"


def package_version() -> str:
    """The installed distribution's version; in a plain checkout, the one in setup.cfg."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        parser = configparser.ConfigParser()
        parser.read(Path(__file__).resolve().parents[2] / "setup.cfg")
        return parser.get("metadata", "version", fallback="unknown")


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"obscale {package_version()}")
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-V", "--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Print the version and exit.")
def cli() -> None:
    """obscale: an obshell-compatible node agent for OceanBase."""


_loaded: list[str] = []
# The long-running processes' commands: `obscale serve` and the consumer it starts load only
# their own module (not the other commands' clients, renderers, sandbox and demo).
PROCESS_COMMANDS = {"serve": "serve", "worker": "serve", "migrate": "serve"}


def load_commands(group: click.Group = cli, only: str | None = None) -> click.Group:
    """Import every app.cli.commands module (or only `only`) once and let it register its
    commands."""
    import app.cli.commands as package

    names = [only] if only else sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    for module in names:
        if module in _loaded or module.startswith("_"):
            continue
        importlib.import_module(f"app.cli.commands.{module}").register(group)
        _loaded.append(module)
    return group


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    only = PROCESS_COMMANDS.get(args[0]) if args else None
    load_commands(only=only).main(args=argv, prog_name="obscale")


if __name__ == "__main__":
    main()
