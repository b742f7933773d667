"""Start a real `obscale serve` for a test and stop it cleanly (reusable by every suite).

    with serve_agent("127.0.0.11", home) as agent:
        requests.get(agent.base_url + "/api/v1/info")

Only loopback addresses; every process is stopped by pid.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import requests

from app.process.procfs import alive, descendants  # noqa: F401 - the suites import them from here

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 45.0


@dataclass
class AgentHandle:
    """A running `obscale serve`."""

    ip: str
    port: int
    home: Path
    pid: int
    process: subprocess.Popen = field(repr=False)
    output: Path = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.home / "obscale"

    def descendants(self) -> list[int]:
        """Pids of every live process below `obscale serve`."""
        return descendants(self.pid)

    def log_text(self) -> str:
        """What serve printed (stdout and stderr), for assertion messages."""
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def obscale_command() -> list[str]:
    """The installed console script when present, else `python -m app.cli`."""
    script = Path(sys.executable).parent / "obscale"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def start_serve(ip: str, home: Path, port: int = 2886, env: Mapping[str, str] | None = None,
                workers: int | None = 2) -> AgentHandle:
    """Start `obscale serve` and wait until /api/v1/info answers (workers=None: the default)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    output = home.parent / f"serve-{ip}-{port}.out"
    argv = obscale_command() + ["serve", "--home", str(home), "--ip", ip, "--port", str(port)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    full_env.update(env or {})
    with open(output, "ab") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=full_env)
    handle = AgentHandle(ip, port, home, process.pid, process, output)
    _wait_ready(handle)
    return handle


def _wait_ready(handle: AgentHandle) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise RuntimeError(f"obscale serve exited with {handle.process.returncode}:\n"
                               f"{handle.log_text()}")
        try:
            if requests.get(handle.base_url + "/api/v1/info", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_serve(handle, check=False)
    raise RuntimeError(f"obscale serve did not answer in {START_TIMEOUT_S} s:\n{handle.log_text()}")


def stop_serve(handle: AgentHandle, check: bool = True, signum: int = signal.SIGTERM) -> int:
    """Signal serve by pid, wait, and make sure none of its children is left (SIGKILL fallback)."""
    children = handle.descendants()
    if handle.process.poll() is None:
        os.kill(handle.pid, signum)
    try:
        status = handle.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.kill(handle.pid, signal.SIGKILL)
        status = handle.process.wait()
    left = _wait_gone(children, 10.0)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if check:
        assert not left, f"children left behind after stop: {left}\n{handle.log_text()}"
    return status


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@contextlib.contextmanager
def serve_agent(ip: str, home: Path, env: Mapping[str, str] | None = None, port: int = 2886,
                workers: int = 2) -> Iterator[AgentHandle]:
    """A running `obscale serve` for the duration of the block; stopped cleanly afterwards."""
    handle = start_serve(ip, home, port=port, env=env, workers=workers)
    try:
        yield handle
    finally:
        status = stop_serve(handle)
        assert status == 0, f"obscale serve exited with {status}:\n{handle.log_text()}"


def prepare_home(home: Path, identity: str | None = None, zone: str = "",
                 root_password: str | None = None, agent_password: str | None = None) -> Path:
    """Create a home with a migrated database, the agent key and the given identity/secrets."""
    from app.node import identity as agent
    from app.config import load_config
    from app.db import database, init_db
    from app.migrate import run_migrations
    from app.security import keystore

    home = Path(home)
    (home / "bin").mkdir(parents=True, exist_ok=True)
    config = load_config({"HOME": str(home)}, environ={})
    init_db(config["DATABASE"])
    with database.connection_context():
        run_migrations()
        store = keystore.open_keystore(config["KEY_FILE"])
        if identity is not None:
            agent.set_identity(identity, zone=zone)
        if root_password is not None:
            agent.set_root_password(root_password, store)
        if agent_password is not None:
            agent.set_agent_password(agent_password)
    return home
