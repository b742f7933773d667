"""`python -m app.process.worker worker --home DIR`: the task consumer that `obscale serve`
starts (also `obscale worker --home DIR`, hidden). Started this way it loads no CLI code."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_serve() -> None:
    """Started by `obscale serve` (which names itself in OBSCALE_SERVE_PID), end with it even
    when it is killed with SIGKILL: the kernel sends this process SIGTERM when its parent dies
    (PR_SET_PDEATHSIG). Set here, after exec, rather than between fork and exec, so that
    gunicorn's master and the web workers forked from it need no ctypes; if the parent died
    before this line, leave at once."""
    expected = os.environ.get("OBSCALE_SERVE_PID", "")
    if not expected.isdigit():
        return
    import ctypes  # the consumer uses it anyway (app.process.logs.release_startup_memory)

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(expected):
        sys.exit(f"obscale serve (pid {expected}) is gone; the task consumer does not start")


def run_worker(home: Path) -> None:
    """Log to <state>/log/worker.log, bind the database and key, run the consumer."""
    die_with_serve()
    from app.process.logs import setup_logging, share_one_malloc_arena

    share_one_malloc_arena()  # before any thread starts
    # huey's consumer module imports gevent when it is installed, for greenlet workers that
    # this consumer does not use (it runs threads): keep gevent out of this process.
    sys.modules.setdefault("gevent", None)
    from app.config import load_config
    from app.db import init_db
    from app.process.consumer import run_consumer
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
