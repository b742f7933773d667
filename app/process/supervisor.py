"""`obscale serve`: check the home and the port, then run and supervise gunicorn and the consumer.

The listening socket is bound here and handed to gunicorn as fd 3 (systemd socket activation),
so "port taken" is detected before any child starts and there is no bind race.
"""
from __future__ import annotations

import ctypes
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
from app.process import procfs

log = logging.getLogger(__name__)

LISTEN_FD = 3
POLL_S = 0.2
WEB_STOP_TIMEOUT_S = 40.0
CONSUMER_STOP_TIMEOUT_S = 30.0
RESTART_BACKOFF_MAX_S = 30.0
STABLE_RUN_S = 60.0
_PR_SET_PDEATHSIG = 1


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
    if other and other != os.getpid() and procfs.alive(other) and _is_serve(other):
        raise ServeError(f"obscale serve is already running for this home (pid {other})")
    tmp = pid_path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(pid_path)


def _is_serve(pid: int) -> bool:
    argv = procfs.cmdline(pid)
    return not argv or "serve" in argv  # an unreadable argv cannot be told apart: be safe


def _child_setup(listen_fd: int | None) -> None:
    # Runs in the child between fork and exec: no logging, no locks.
    if listen_fd is not None and listen_fd != LISTEN_FD:
        os.dup2(listen_fd, LISTEN_FD)
    try:  # die with the supervisor even if it is killed with SIGKILL
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# The web process's settings module, shipped inside the package (not a file of the checkout).
GUNICORN_CONF = "python:app.process.gunicorn_conf"


def child_environment(config: Mapping[str, Any], started_at_ns: int) -> dict[str, str]:
    """The environment both children read their settings from."""
    env = dict(os.environ)
    env.update({"OBSCALE_HOME": str(config["HOME"]), "OBSCALE_IP": str(config["IP"]),
                "OBSCALE_PORT": str(config["PORT"]), "OBSCALE_WORKERS": str(config["WORKERS"]),
                "OBSCALE_SERVE_PID": str(os.getpid()),
                "OBSCALE_STARTED_AT_NS": str(started_at_ns)})
    return env


class Supervisor:
    """Runs gunicorn and the huey consumer until a signal arrives or gunicorn dies."""

    def __init__(self, config: Mapping[str, Any], listener: socket.socket):
        self.config = config
        self.listener = listener
        self.env = child_environment(config, time.time_ns())
        self.web: subprocess.Popen | None = None
        self.consumer: subprocess.Popen | None = None
        self.stopping: int | None = None
        self._backoff = 1.0
        self._consumer_started = 0.0
        self._restart_at = 0.0

    def _spawn(self, argv: list[str], listen_fd: int | None = None) -> subprocess.Popen:
        keep = (LISTEN_FD,) if listen_fd is not None else ()
        env = dict(self.env, OBSCALE_LISTEN_FD=str(LISTEN_FD)) if keep else self.env
        return subprocess.Popen(argv, env=env, pass_fds=keep, process_group=0,
                                preexec_fn=lambda: _child_setup(listen_fd))

    def start_web(self) -> None:
        """gunicorn with our conf, serving the inherited listening socket."""
        argv = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONF]
        self.web = self._spawn(argv, self.listener.fileno())
        self.listener.close()  # gunicorn owns it now; a dead web server must not queue clients
        log.info("started gunicorn (pid %d)", self.web.pid)

    def start_consumer(self) -> None:
        """The huey consumer as `obscale worker --home ...`."""
        argv = [sys.executable, "-m", "app", "worker", "--home", str(self.config["HOME"])]
        self.consumer = self._spawn(argv)
        self._consumer_started = time.monotonic()
        log.info("started the task consumer (pid %d)", self.consumer.pid)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = signum

    def run(self) -> int:
        """Supervise until stopped; the exit status of `obscale serve`."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.start_web()
        self.start_consumer()
        while self.stopping is None:
            if self.web.poll() is not None:
                log.error("gunicorn exited with status %s; stopping", self.web.returncode)
                self.shutdown()
                return 1
            self._watch_consumer()
            time.sleep(POLL_S)
        log.info("signal %d received; stopping", self.stopping)
        self.shutdown()
        return 0

    def _watch_consumer(self) -> None:
        if self.consumer is not None and self.consumer.poll() is None:
            return
        now = time.monotonic()
        if self.consumer is not None:
            ran = now - self._consumer_started
            self._backoff = 1.0 if ran > STABLE_RUN_S else min(self._backoff * 2, RESTART_BACKOFF_MAX_S)
            log.warning("task consumer exited with status %s; restarting in %.0f s",
                        self.consumer.returncode, self._backoff)
            self.consumer, self._restart_at = None, now + self._backoff
        if now >= self._restart_at:
            self.start_consumer()

    def shutdown(self) -> None:
        """SIGTERM to gunicorn (graceful), SIGINT to the consumer (finish the current task)."""
        _signal(self.web, signal.SIGTERM)
        _signal(self.consumer, signal.SIGINT)
        _reap(self.consumer, CONSUMER_STOP_TIMEOUT_S, signal.SIGTERM)
        _reap(self.web, WEB_STOP_TIMEOUT_S, signal.SIGKILL)


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


def serve(config: Mapping[str, Any]) -> int:
    """The whole `obscale serve`: checks, migrations, key, pid file, then supervision."""
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
        return Supervisor(config, listener).run()
    finally:
        listener.close()
        Path(config["PID_FILE"]).unlink(missing_ok=True)
