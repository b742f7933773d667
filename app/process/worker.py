"""`python -m app.process.worker worker --home DIR`: the task consumer that `obscale serve`
starts (also `obscale worker --home DIR`, hidden). Started this way it loads no CLI code."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def run_worker(home: Path) -> None:
    """Log to <state>/log/worker.log, bind the database and key, run the consumer."""
    # huey's consumer module imports gevent when it is installed, for greenlet workers that
    # this consumer does not use (it runs threads): keep gevent out of this process.
    sys.modules.setdefault("gevent", None)
    from app.config import load_config
    from app.db import init_db
    from app.process.consumer import run_consumer
    from app.process.logs import setup_logging
    from app.security import keystore

    config = load_config({"HOME": str(home.resolve())})
    setup_logging(config, "worker.log")
    # huey logs every task run at INFO; waits re-check often, so keep its chatter for DEBUG.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("huey").setLevel(logging.WARNING)
    init_db(config["DATABASE"])
    keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    run_consumer(config)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="obscale worker")
    parser.add_argument("command", choices=["worker"])
    parser.add_argument("--home", required=True, type=Path)
    run_worker(parser.parse_args(argv).home)


if __name__ == "__main__":
    main()
