"""Starting observer subprocesses and stopping them by pid (never by name)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from app.process import procfs  # ships with obemu; stdlib only

STOP_TIMEOUT_S = 5.0
POLL_S = 0.01


class StartError(RuntimeError):
    """An observer did not reach READY; the message carries its output."""


@dataclass
class Launch:
    """A started observer: its pid, and the Popen when it runs in the foreground (-N)."""

    pid: int
    popen: subprocess.Popen | None
    output: Path


def observer_pid(home: Path) -> int | None:
    """The pid in `<home>/run/observer.pid`, None when absent or unreadable."""
    try:
        return int((home / "run" / "observer.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int, popen: subprocess.Popen | None = None) -> bool:
    """Whether pid runs (a zombie counts as gone)."""
    if popen is not None:
        return popen.poll() is None
    return procfs.alive(pid)


def _looks_like_observer(pid: int) -> bool:
    """Guard against a recycled pid from a stale pid file: only signal observer processes."""
    argv = " ".join(procfs.cmdline(pid))
    return any(mark in argv for mark in ("obemu-observer", "obemu.observer", "bin/observer"))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _wait_for_line(path: Path, needle: str, pid: int, popen: subprocess.Popen | None,
                   timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in _read(path):
            return
        if not pid_alive(pid, popen):
            raise StartError(f"observer {pid} exited before READY: {_read(path)[-2000:]}")
        time.sleep(POLL_S)
    raise StartError(f"observer {pid} not READY after {timeout} s: {_read(path)[-2000:]}")


def spawn_foreground(argv: Sequence[str], home: Path, env: Mapping[str, str],
                     timeout: float) -> Launch:
    """Run argv with -N; stdout/stderr go to `<home>/log/launcher.out`; wait for READY."""
    argv = [*argv, "-N"]
    output = home / "log" / "launcher.out"
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as sink:
        popen = subprocess.Popen(argv, cwd=home, env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=sink, stderr=subprocess.STDOUT)
    launch = Launch(popen.pid, popen, output)
    try:
        _wait_for_line(output, "READY", popen.pid, popen, timeout)
    except StartError:
        stop_pids([popen.pid], [launch])
        raise
    return launch


def spawn_daemon(argv: Sequence[str], home: Path, env: Mapping[str, str],
                 timeout: float) -> Launch:
    """Run argv as the product does (daemon); wait for the launcher, then READY in the log."""
    result = subprocess.run(list(argv), cwd=home, env=dict(env), stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout, check=False)
    pid = observer_pid(home)
    if result.returncode != 0 or pid is None:
        raise StartError(f"launcher exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    launch = Launch(pid, None, home / "log" / "observer.log")
    try:
        _wait_for_line(launch.output, f" pid={pid}\n", pid, None, timeout)
    except StartError:
        stop_pids([pid], [launch])
        raise
    return launch


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _wait_gone(pids: list[int], popens: dict, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if pid_alive(pid, popens.get(pid))]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [pid for pid in alive if pid_alive(pid, popens.get(pid))]
    return alive


def stop_pids(pids: Iterable[int], launches: Iterable[Launch] = (),
              timeout: float = STOP_TIMEOUT_S) -> list[int]:
    """SIGTERM, wait up to `timeout`, SIGKILL what is left; returns the pids that needed KILL."""
    popens = {launch.pid: launch.popen for launch in launches if launch.popen is not None}
    own = {os.getpid(), os.getppid()}
    targets = [pid for pid in dict.fromkeys(pids)
               if pid not in own and (pid in popens or _looks_like_observer(pid))]
    targets = [pid for pid in targets if pid_alive(pid, popens.get(pid))]
    _signal(targets, signal.SIGTERM)
    stubborn = _wait_gone(targets, popens, timeout)
    _signal(stubborn, signal.SIGKILL)
    _wait_gone(stubborn, popens, timeout)
    for popen in popens.values():
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    return stubborn
