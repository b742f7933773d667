"""The agent's processes' log set-up (stderr, and a file under <state>/log/), and what the
consumer does to stay small (one malloc arena, the start-up heap given back)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Mapping


def setup_logging(config: Mapping[str, Any], filename: str | None = None) -> None:
    """Log to stderr, and to <state>/log/<filename> when given."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if filename:
        Path(config["LOG_DIR"]).mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(Path(config["LOG_DIR"]) / filename))
    logging.basicConfig(level=str(config["LOG_LEVEL"]).upper(), handlers=handlers, force=True,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")


_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def share_one_malloc_arena() -> bool:
    """The consumer's, before its threads start: all threads allocate from glibc's main arena.

    By default glibc gives each thread that allocates its own arena (up to 8 per core); the
    consumer's threads (huey's workers and scheduler, the doorbell's reader, the cluster
    executor) each run now and then, and each arena they touch stays resident: 0.8 MiB more
    after the first minute of an idle agent. Python code allocates under the GIL anyway, so one
    arena costs no contention worth measuring (bench/footprint.py's stage gap). An arena limit
    set in the environment wins (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in GLIBC_TUNABLES:
    glibc reads them itself). False where there is no glibc mallopt."""
    import ctypes
    import os

    if (os.environ.get("MALLOC_ARENA_MAX")
            or "glibc.malloc.arena_max" in os.environ.get("GLIBC_TUNABLES", "")):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def release_startup_memory() -> None:
    """The consumer's: give the heap that start-up (imports, migrations, key loading) used and
    freed back to the system: glibc keeps freed memory for reuse, which an idle agent does not
    need. A no-op where there is no glibc malloc_trim. (gunicorn's master and web worker only
    collect: app/process/gunicorn_conf.py.)"""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
