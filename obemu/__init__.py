"""obemu: an OceanBase observer emulator for tests and the local sandbox.

The package stays import-light: `obemu-observer -V` must not pay for mysql-mimic or sqlglot.
It is installed with obscale; its own dependencies come with the `emu` extra.
"""
from __future__ import annotations

import importlib.util

# import name -> distribution name, both pinned in setup.cfg's `emu` extra
DEPENDENCIES = {"mysql_mimic": "mysql-mimic", "sqlglot": "sqlglot"}
INSTALL_HINT = "install obscale[emu] (pip install 'obscale[emu]')"


def missing_dependencies() -> list[str]:
    """The distributions the emulator needs that are not installed."""
    return [dist for module, dist in DEPENDENCIES.items() if importlib.util.find_spec(module) is None]


def dependency_problem() -> str | None:
    """What to tell the user when the emulator cannot run here, else None."""
    missing = missing_dependencies()
    if not missing:
        return None
    return f"the observer emulator needs {' and '.join(missing)} (not installed): {INSTALL_HINT}"
