"""The local observer's version from `<home>/bin/observer -V`, cached per binary (a leaf)."""
from __future__ import annotations

import logging
import re
import subprocess
import threading
from pathlib import Path

log = logging.getLogger(__name__)

VERSION_TIMEOUT_S = 10.0
_VERSION = re.compile(r"observer\s*\(\s*OceanBase[^()\d]*?\s(\d+\.\d+\.\d+\.\d+)\s*\)")
_REVISION = re.compile(r"REVISION:\s*(\d+)(?:-[0-9A-Za-z]+)?")
_cache: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def parse_observer_version(text: str) -> str:
    """`observer (OceanBase_CE 4.2.1.2)` + `REVISION: <build>-<hash>` -> `4.2.1.2-<build>`."""
    version = _VERSION.search(text)
    if version is None:
        return ""
    revision = _REVISION.search(text)
    return f"{version.group(1)}-{revision.group(1)}" if revision else version.group(1)


def observer_binary(home: str) -> Path:
    """Where the observer binary of this home lives."""
    return Path(home) / "bin" / "observer"


def observer_version(home: str) -> str:
    """The binary's version ("" if there is no binary or it cannot say); cached until it changes."""
    binary = observer_binary(home)
    try:
        st = binary.stat()
    except OSError:
        return ""
    key = (str(binary), st.st_mtime_ns, st.st_size)
    with _lock:
        if key in _cache:
            return _cache[key]
    version = _run_version(binary)
    with _lock:
        _cache[key] = version
    return version


def _run_version(binary: Path) -> str:
    try:
        done = subprocess.run([str(binary), "-V"], capture_output=True, text=True,
                              errors="replace", timeout=VERSION_TIMEOUT_S,
                              cwd=str(binary.parent), check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot run %s -V: %s", binary, exc)
        return ""
    version = parse_observer_version(done.stdout + "\n" + done.stderr)
    if not version:
        log.warning("%s -V printed no recognisable version (exit %s)", binary, done.returncode)
    return version
