"""The agent's processes' log set-up (stderr, and a file under <state>/log/)."""
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
