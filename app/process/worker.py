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


def die_with_parent(parent_pid: int | None) -> None:
    """Started by `obscale serve`'s master (which passes its own pid as --parent-pid), end with
    it even when it is killed with SIGKILL: the kernel sends this process SIGTERM when its
    parent dies (PR_SET_PDEATHSIG). Set here, after exec, rather than between fork and exec,
    so that gunicorn's master and the web workers forked from it need no ctypes; if the parent
    died before this line, leave at once. Started by hand (no --parent-pid): nothing to do."""
    if parent_pid is None:
        return
    import ctypes  # the consumer uses it anyway (app.process.logs)

    try:
        failed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM,
                                                          0, 0, 0)
    except (OSError, AttributeError):
        failed = True
    if failed:  # logging is not set up yet
        print("obscale worker: cannot ask to end with the process that started it (prctl); "
              "going on", file=sys.stderr)
    if os.getppid() != parent_pid:
        sys.exit(f"obscale worker: the process that started it (pid {parent_pid}) is gone; "
                 "the task consumer does not start")


def run_worker(home: Path, parent_pid: int | None = None) -> None:
    """Log to <state>/log/worker.log, bind the database and key, run the consumer."""
    die_with_parent(parent_pid)
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
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="end with this process (obscale serve's master passes its pid)")
    arguments = parser.parse_args(argv)
    run_worker(arguments.home, arguments.parent_pid)


if __name__ == "__main__":
    main()
