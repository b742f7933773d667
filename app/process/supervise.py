"""`python -m app.process.supervise serve ...`: the resident `obscale serve` supervisor.

`obscale serve` prepares the home (checks, migrations, key, pid file, the bound socket) and then
replaces itself with this module (app.process.supervisor.serve): what stays resident for the
agent's lifetime imports the standard library, app.config and the supervisor, nothing else.
Its settings come from the OBSCALE_* environment the preparation set; its arguments only make
it recognisable (`obscale serve --home DIR` in ps). Not meant to be started by hand.
"""
from __future__ import annotations

import sys

from app.config import load_config
from app.process.logs import setup_logging
from app.process.supervisor import adopt_listener, supervise_inherited


def main() -> int:
    adopt_listener()  # before the log file is opened (it would take fd 3)
    config = load_config()
    setup_logging(config, "serve.log")
    return supervise_inherited(config)


if __name__ == "__main__":
    sys.exit(main())
