"""The `obscale` command: a click group whose commands live in app/commands/*.py.

Each module there defines `register(group)`; they are discovered when the command runs, so
adding a command never means editing this file.
"""
from __future__ import annotations

import importlib
import pkgutil

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """obscale: an obshell-compatible node agent for OceanBase."""


_loaded: list[str] = []


def load_commands(group: click.Group = cli) -> click.Group:
    """Import every app.cli.commands module once and let it register its commands."""
    import app.cli.commands as package

    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        if module in _loaded or module.startswith("_"):
            continue
        importlib.import_module(f"app.cli.commands.{module}").register(group)
        _loaded.append(module)
    return group


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    load_commands().main(args=argv, prog_name="obscale")


if __name__ == "__main__":
    main()
