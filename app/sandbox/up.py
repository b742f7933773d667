"""`sandbox up`: a bootstrapped one-node obemu cluster, its CLUSTER AGENT, and SINGLE spares."""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from obemu import dependency_problem
from obemu.testing import Fleet, write_shim

from app.peer.client import AgentClient
from app.peer.errors import PeerError
from app.sandbox import control, layout
from app.sandbox.layout import AgentRecord, Sandbox, SandboxError
from app.sandbox.procs import alive, obscale_argv, spawn_detached

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 60.0
TAKEOVER_TIMEOUT_S = 60.0
PASSWORD_ENV = "SANDBOX_ROOT_PASSWORD"
# The sandbox's agents poll fast so that a scale-out takes seconds (the default is 2 s).
AGENT_SETTINGS = {"OBSCALE_SCALE_OUT_POLL_INTERVAL_S": "0.2"}
Report = Callable[[str], None]


def agent_env(state: Path) -> dict[str, str]:
    """Environment of the sandbox agents: no inherited OBSCALE_*, the cluster's obemu state."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBSCALE_")}
    return {**env, **AGENT_SETTINGS, "OBEMU_STATE": str(state)}


def _port_in_use(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            return True
    return False


def _check_ports(ips: list[str]) -> None:
    ports = (layout.MYSQL_PORT, layout.RPC_PORT, layout.AGENT_PORT)
    busy = [f"{ip}:{port}" for ip in ips for port in ports if _port_in_use(ip, port)]
    if busy:
        raise SandboxError(f"address(es) in use: {', '.join(busy)} (another sandbox? "
                           "choose another --base-ip)")


def _refuse_running(directory: Path) -> None:
    """Refuse a folder whose sandbox still runs, or that holds homes of an unknown one."""
    if layout.sandbox_file(directory).exists():
        live = control.running_pids(layout.load(directory))
        if live:
            raise SandboxError(f"a sandbox is already running in {directory} (pids "
                               f"{', '.join(map(str, live))}); run `obscale sandbox down "
                               f"--dir {directory}` first")
    elif (directory / "homes").exists():
        raise SandboxError(f"{directory} holds observer homes but no {layout.SANDBOX_FILE}; "
                           "choose an empty --dir")


def _clear(directory: Path) -> None:
    """Remove the folders of a stopped sandbox (only its own), and create the folder."""
    for name in ("homes", "obemu", "logs"):
        shutil.rmtree(directory / name, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def _start_cluster(sandbox: Sandbox, ip: str, zone: str) -> None:
    home = layout.home_of(sandbox.dir, ip)
    sandbox.cluster["home"] = str(home)
    layout.save(sandbox)  # before the observer starts, so that `down` finds its pid file
    node = Fleet(sandbox.dir).start_cluster(
        ip, zone=zone, root_password=sandbox.root_password, cluster=layout.CLUSTER_NAME,
        cluster_id=layout.CLUSTER_ID, state_path=sandbox.cluster["state_file"], home=home,
        daemon=True)
    sandbox.cluster["observer_pid"] = node.pid
    layout.save(sandbox)


def _takeover(sandbox: Sandbox, ip: str, env: dict[str, str]) -> None:
    argv = obscale_argv() + ["takeover", "--home", sandbox.cluster["home"], "--ip", ip,
                             "--port", str(layout.AGENT_PORT), "--root-password-env", PASSWORD_ENV]
    result = subprocess.run(argv, env={**env, PASSWORD_ENV: sandbox.root_password},
                            capture_output=True, text=True, timeout=TAKEOVER_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise SandboxError(f"takeover of {ip} failed: {result.stderr.strip()[-800:]}")


def _start_agent(sandbox: Sandbox, ip: str, identity: str, env: dict[str, str]) -> None:
    home = layout.home_of(sandbox.dir, ip)
    if identity == "SINGLE":
        write_shim(home)
    output = layout.log_of(sandbox.dir, ip)
    argv = obscale_argv() + ["serve", "--home", str(home), "--ip", ip,
                             "--port", str(layout.AGENT_PORT)]
    record = AgentRecord(ip, layout.AGENT_PORT, str(home), identity, log=str(output))
    sandbox.agents.append(record)
    record.pid = spawn_detached(argv, env, output)
    layout.save(sandbox)


def _wait_answering(agent: AgentRecord, deadline: float) -> None:
    client = AgentClient(agent.ip, agent.port, timeout=2.0)
    while time.monotonic() < deadline:
        if not alive(agent.pid):
            tail = Path(agent.log).read_text(errors="replace")[-800:]
            raise SandboxError(f"the agent on {agent.ip} exited:\n{tail}")
        try:
            if client.info().get("identity") == agent.identity:
                return
        except PeerError:
            pass
        time.sleep(0.1)
    raise SandboxError(f"the agent on {agent.ip}:{agent.port} did not answer as "
                       f"{agent.identity} within {ANSWER_TIMEOUT_S:.0f} s (log: {agent.log})")


def _new_sandbox(directory: Path, ip: str, zone: str) -> Sandbox:
    cluster = {"name": layout.CLUSTER_NAME, "id": layout.CLUSTER_ID,
               "root_password": secrets.token_urlsafe(12), "mysql_ip": ip,
               "mysql_port": layout.MYSQL_PORT, "rpc_port": layout.RPC_PORT, "zone": zone,
               "state_file": str(layout.state_file(directory))}
    return Sandbox(str(directory), cluster)


def _bring_up(sandbox: Sandbox, ips: list[str], zone: str, report: Report) -> None:
    report(f"starting observer {ips[0]}:{layout.MYSQL_PORT} (zone {zone}) and bootstrapping it")
    _start_cluster(sandbox, ips[0], zone)
    env = agent_env(Path(sandbox.cluster["state_file"]))
    report(f"taking it over with the agent on {ips[0]}:{layout.AGENT_PORT}")
    _takeover(sandbox, ips[0], env)
    _start_agent(sandbox, ips[0], "CLUSTER AGENT", env)
    for ip in ips[1:]:
        report(f"starting spare agent {ip}:{layout.AGENT_PORT} (SINGLE)")
        _start_agent(sandbox, ip, "SINGLE", env)
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    for agent in sandbox.agents:
        _wait_answering(agent, deadline)


def up(directory: str | Path, spare: int = 2, base_ip: str = "127.0.0.1", zone: str = "zone1",
       report: Report = log.info) -> Sandbox:
    """Start a sandbox in directory; on any failure stop what was started and re-raise."""
    problem = dependency_problem()
    if problem:
        raise SandboxError(f"the sandbox cannot start: {problem}")
    directory = Path(directory).resolve()
    ips = layout.addresses(base_ip, spare)
    _refuse_running(directory)
    _check_ports(ips)
    _clear(directory)
    sandbox = _new_sandbox(directory, ips[0], zone)
    try:
        _bring_up(sandbox, ips, zone, report)
    except BaseException as exc:
        report("start-up failed; stopping what was started")
        control.down(directory)
        if isinstance(exc, Exception) and not isinstance(exc, SandboxError):
            raise SandboxError(f"start-up failed: {type(exc).__name__}: {exc}") from exc
        raise
    sandbox.state = "running"
    layout.save(sandbox)
    return sandbox
