"""Sandbox processes: start `obscale serve` detached, find and stop processes by pid only.

A pid read from a file is signalled only when /proc shows it is still the process we mean
(an `obscale serve` of that home, or an observer), so a recycled pid is never hit.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from obemu.procutil import observer_pid, stop_pids

from app.process import procfs

log = logging.getLogger(__name__)

AGENT_STOP_TIMEOUT_S = 45.0
KILL_TIMEOUT_S = 5.0
POLL_S = 0.05


def obscale_argv() -> list[str]:
    """The installed `obscale` script next to this interpreter, else `python -m app.cli`."""
    script = Path(sys.executable).parent / "obscale"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def spawn_detached(argv: Sequence[str], env: Mapping[str, str], output: Path) -> int:
    """Start argv in a new session, stdin from /dev/null, stdout and stderr appended to output."""
    output.parent.mkdir(parents=True, exist_ok=True)
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(output), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions, setsid=True)


def _reap(pid: int) -> None:
    """Collect the exit status when pid is our own child (a zombie otherwise lingers)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie (our own exited children are reaped first)."""
    if pid <= 0:
        return False
    _reap(pid)
    return procfs.alive(pid)


def is_serve_of(pid: int, home: str | Path) -> bool:
    """True if pid is a live `obscale serve --home <home>`."""
    args = procfs.cmdline(pid)
    return alive(pid) and "serve" in args and str(home) in args


def is_observer(pid: int) -> bool:
    """True if pid is a live observer (obemu-observer, directly or through a home's shim)."""
    args = procfs.cmdline(pid)[:2]
    return alive(pid) and any(arg.endswith(("obemu-observer", "/bin/observer")) for arg in args)


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until none of pids is alive or timeout passes; returns those still alive."""
    pids, deadline = list(pids), time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(POLL_S)


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def stop_agents(agents: Iterable[tuple[int, str]],
                timeout: float = AGENT_STOP_TIMEOUT_S) -> list[int]:
    """SIGTERM each (pid, home) `obscale serve`, wait, SIGKILL leftovers; returns what survived."""
    serves = [pid for pid, home in agents if pid and is_serve_of(pid, home)]
    family = [kid for pid in serves for kid in procfs.descendants(pid)]
    for pid in serves:
        _send(pid, signal.SIGTERM)  # serve stops its own children
    left = wait_gone([*serves, *family], timeout)
    if left:
        log.warning("sending SIGKILL to %s after %.0f s", left, timeout)
    for pid in left:
        _send(pid, signal.SIGKILL)
    return wait_gone(left, KILL_TIMEOUT_S)


def observer_pids(homes: Iterable[Path], recorded: Iterable[int] = ()) -> list[int]:
    """Live pids from each home's run/observer.pid plus the recorded ones."""
    pids = [pid for pid in map(observer_pid, homes) if pid is not None]
    return [pid for pid in dict.fromkeys([*pids, *recorded]) if is_observer(pid)]


def stop_observers(pids: Sequence[int]) -> list[int]:
    """Stop observer pids (SIGTERM, then SIGKILL); returns those still alive afterwards."""
    stop_pids(pids)
    return wait_gone(pids, KILL_TIMEOUT_S)
