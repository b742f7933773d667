"""`obscale serve`: check the home and the port, prepare, then run gunicorn's master, which
serves through its web workers and keeps the task consumer (app/process/master.py).

The listening socket is bound here and handed to gunicorn as fd 3 (systemd socket activation),
so "port taken" is detected before anything starts and there is no bind race.
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from app.config import check_budgets

log = logging.getLogger(__name__)

LISTEN_FD = 3
CONSUMER_STOP_TIMEOUT_S = 30.0
RESTART_BACKOFF_MAX_S = 30.0
STABLE_RUN_S = 60.0


class ServeError(Exception):
    """A start-up problem with a message meant for the operator."""


def check_home(config: Mapping[str, Any]) -> None:
    """The home must be an existing, writable directory; create the agent state folders in it."""
    home = Path(config["HOME"])
    if not home.is_dir():
        raise ServeError(f"home {home} is not a directory")
    if not os.access(home, os.W_OK | os.X_OK):
        raise ServeError(f"home {home} is not writable")
    for folder in (config["STATE_DIR"], config["LOG_DIR"]):
        try:
            Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
            probe = Path(folder) / f".probe.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ServeError(f"agent state folder {folder} is not usable: {exc.strerror}") from None


def bind_listener(ip: str, port: int, backlog: int = 2048) -> socket.socket:
    """Bind and listen on ip:port (SO_REUSEADDR, as gunicorn does); ServeError if taken."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, int(port)))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {ip} is already in use") from None
        raise ServeError(f"cannot listen on {ip}:{port}: {exc.strerror}") from None
    return sock


def write_pid_file(path: str) -> None:
    """Record our pid; refuse when a live `obscale serve` already owns the file."""
    pid_path = Path(path)
    try:
        other = int(pid_path.read_text().strip() or 0)
    except (OSError, ValueError):
        other = 0
    from app.process import procfs  # here: the resident master has no use for it

    if other and other != os.getpid() and procfs.alive(other) and _is_serve(other):
        raise ServeError(f"obscale serve is already running for this home (pid {other})")
    tmp = pid_path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(pid_path)


def _is_serve(pid: int) -> bool:
    from app.process import procfs

    argv = procfs.cmdline(pid)
    return not argv or "serve" in argv  # an unreadable argv cannot be told apart: be safe


# The web process's settings module, shipped inside the package (not a file of the checkout).
GUNICORN_CONF = "python:app.process.gunicorn_conf"


def child_environment(config: Mapping[str, Any], started_at_ns: int) -> dict[str, str]:
    """The environment the web workers and the consumer read their settings from."""
    env = dict(os.environ)
    env.update({"OBSCALE_HOME": str(config["HOME"]), "OBSCALE_IP": str(config["IP"]),
                "OBSCALE_PORT": str(config["PORT"]), "OBSCALE_WORKERS": str(config["WORKERS"]),
                "OBSCALE_SERVE_PID": str(os.getpid()),
                "OBSCALE_STARTED_AT_NS": str(started_at_ns)})
    return env


class ConsumerKeeper:
    """The huey consumer child of the resident `obscale serve` (app/process/master.py): started
    with the master, restarted when it dies (back-off 1 s doubling to 30 s, back to 1 s after a
    run of STABLE_RUN_S), stopped last."""

    def __init__(self, config: Mapping[str, Any], env: Mapping[str, str]):
        self.config = config
        self.env = dict(env)
        self.process: subprocess.Popen | None = None
        self._backoff = 1.0
        self._started = 0.0
        self._restart_at = 0.0

    def start(self) -> None:
        """The huey consumer (app/process/worker.py), in its own process group."""
        argv = [sys.executable, "-m", "app.process.worker", "worker", "--home",
                str(self.config["HOME"]), "--parent-pid", str(os.getpid())]
        self.process = subprocess.Popen(argv, env=self.env, process_group=0)
        self._started = time.monotonic()
        log.info("started the task consumer (pid %d)", self.process.pid)

    def reap(self) -> None:
        """Collect the consumer's exit status if it has died (before anyone's waitpid(-1))."""
        if self.process is not None:
            self.process.poll()

    def watch(self) -> None:
        """Restart a dead consumer once its back-off has passed."""
        if self.process is not None and self.process.poll() is None:
            return
        now = time.monotonic()
        if self.process is not None:
            ran = now - self._started
            self._backoff = 1.0 if ran > STABLE_RUN_S else min(self._backoff * 2,
                                                                RESTART_BACKOFF_MAX_S)
            log.warning("task consumer exited with status %s; restarting in %.0f s",
                        self.process.returncode, self._backoff)
            self.process, self._restart_at = None, now + self._backoff
        if now >= self._restart_at:
            self.start()

    def ask_to_stop(self, graceful: bool = True) -> None:
        """SIGINT: the consumer finishes its current task and exits; SIGTERM (a quick stop):
        huey interrupts its workers at once."""
        _signal(self.process, signal.SIGINT if graceful else signal.SIGTERM)

    def wait_stopped(self, graceful: bool = True) -> None:
        _reap(self.process, CONSUMER_STOP_TIMEOUT_S if graceful else 5.0, signal.SIGKILL)


def _signal(proc: subprocess.Popen | None, signum: int) -> None:
    if proc is not None and proc.poll() is None:
        try:
            os.kill(proc.pid, signum)
        except ProcessLookupError:
            pass


def _reap(proc: subprocess.Popen | None, timeout: float, then: int) -> None:
    """Wait for a child; past the timeout send `then`, then SIGKILL it and its process group."""
    if proc is None:
        return
    try:
        proc.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        log.warning("pid %d did not stop in %.0f s; sending signal %d", proc.pid, timeout, then)
        _signal(proc, then)
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: stragglers such as gunicorn workers
    except (ProcessLookupError, PermissionError):
        pass


def _warn_if_exposed(config: Mapping[str, Any]) -> None:
    """Say at start what GET /api/v1/admin/health says as `exposure`."""
    from app.node.exposure import exposure_warning
    from app.node.identity import get_identity

    warning = exposure_warning(config, get_identity())
    if warning:
        log.warning("%s", warning)


# The inherited listening socket of the lean supervisor (an environment variable of its own,
# not the children's OBSCALE_LISTEN_FD).
SERVE_LISTEN_FD_ENV = "OBSCALE_SERVE_LISTEN_FD"


def serve(config: Mapping[str, Any]) -> int:
    """The whole `obscale serve`: checks, migrations, key, pid file, then supervision.

    The preparation needs the database, migration and crypto code; supervising needs none of
    it. So once prepared, this process replaces itself (same pid, same pid file, same bound
    socket) with `python -m app.process.supervise`, which imports only this module: the
    supervisor that stays resident is a bare interpreter. Returns only when that exec fails."""
    from app.migrate import run_migrations
    from app.db import connection, init_db
    from app.security import keystore

    check_home(config)
    problems = check_budgets(config)
    if problems:
        raise ServeError("the time budgets do not fit together: " + "; ".join(problems))
    listener = bind_listener(config["IP"], int(config["PORT"]))
    write_pid_file(config["PID_FILE"])
    try:
        init_db(config["DATABASE"])
        with connection():
            run_migrations()
        keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
        _warn_if_exposed(config)
        _exec_lean(config, listener)
    finally:  # reached only when the exec failed
        listener.close()
        Path(config["PID_FILE"]).unlink(missing_ok=True)
    return 1


def _exec_lean(config: Mapping[str, Any], listener: socket.socket) -> None:
    env = child_environment(config, time.time_ns())
    env[SERVE_LISTEN_FD_ENV] = str(listener.fileno())
    os.set_inheritable(listener.fileno(), True)
    args = sys.argv[1:] if "serve" in sys.argv[1:] else ["serve", "--home", str(config["HOME"])]
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "app.process.supervise", *args], env)


def adopt_listener() -> None:
    """Put the socket `serve` bound at fd 3 (the systemd socket-activation protocol). First
    thing after the exec: before any file is opened, which could take fd 3 itself."""
    fd = int(os.environ.pop(SERVE_LISTEN_FD_ENV))
    if fd != LISTEN_FD:
        os.dup2(fd, LISTEN_FD)
        os.close(fd)


def supervise_inherited(config: Mapping[str, Any]) -> int:
    """The resident process's body (after adopt_listener): gunicorn's master on fd 3, keeping
    the consumer too; then clean up. The web workers are forks of this process and leave
    through here too: only the master removes the pid file."""
    from app.process.master import run_master

    master_pid = os.getpid()
    started_at_ns = int(os.environ.get("OBSCALE_STARTED_AT_NS") or time.time_ns())
    env = child_environment(config, started_at_ns)
    os.environ.update(env)  # the web workers' settings (they are forked from this process)
    os.environ["OBSCALE_LISTEN_FD"] = str(LISTEN_FD)
    try:
        return run_master(ConsumerKeeper(config, env))
    finally:
        if os.getpid() == master_pid:
            Path(config["PID_FILE"]).unlink(missing_ok=True)
