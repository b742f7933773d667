"""Where a sandbox keeps its files, and `sandbox.json` (mode 0600: it holds the root password)."""
from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SANDBOX_FILE = "sandbox.json"
CLUSTER_NAME = "obsandbox"
CLUSTER_ID = 1
AGENT_PORT = 2886
MYSQL_PORT = 2881
RPC_PORT = 2882
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class SandboxError(Exception):
    """A sandbox cannot be started, read or stopped; the message says why in plain words."""


@dataclass
class AgentRecord:
    """One `obscale serve` of the sandbox."""

    ip: str
    port: int
    home: str
    identity: str
    pid: int = 0
    log: str = ""


@dataclass
class Sandbox:
    """What `sandbox.json` holds: the cluster, the agents, and the paths `down` needs."""

    dir: str
    cluster: dict[str, Any]
    agents: list[AgentRecord] = field(default_factory=list)
    state: str = "starting"

    @property
    def root_password(self) -> str:
        """The generated root@sys password (never log or print it unasked)."""
        return str(self.cluster["root_password"])

    @property
    def coordinator(self) -> AgentRecord:
        """The CLUSTER AGENT (always the first agent)."""
        return self.agents[0]

    @property
    def spares(self) -> list[AgentRecord]:
        """The agents that started SINGLE."""
        return self.agents[1:]

    def homes(self) -> list[Path]:
        """Every observer home of the sandbox."""
        paths = [self.cluster.get("home"), *(agent.home for agent in self.agents)]
        return list(dict.fromkeys(Path(path) for path in paths if path))

    def to_json(self) -> dict[str, Any]:
        """The `sandbox.json` document."""
        return {"dir": self.dir, "state": self.state, "cluster": self.cluster,
                "agents": [asdict(agent) for agent in self.agents]}


def sandbox_file(directory: str | Path) -> Path:
    """`<dir>/sandbox.json`."""
    return Path(directory) / SANDBOX_FILE


def save(sandbox: Sandbox) -> None:
    """Write `sandbox.json` atomically with mode 0600."""
    path = sandbox_file(sandbox.dir)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(sandbox.to_json(), handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def load(directory: str | Path) -> Sandbox:
    """Read `<dir>/sandbox.json`; SandboxError when there is none or it is unreadable."""
    path = sandbox_file(directory)
    try:
        data = json.loads(path.read_text())
        agents = [AgentRecord(**agent) for agent in data.get("agents", [])]
        return Sandbox(str(data["dir"]), dict(data["cluster"]), agents, str(data.get("state", "")))
    except FileNotFoundError:
        raise SandboxError(f"no sandbox in {directory} ({path} does not exist)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SandboxError(f"{path} is not a readable sandbox file: {exc}") from None


def addresses(base_ip: str, spare: int) -> list[str]:
    """The base address and the next `spare` ones; all must lie in 127.0.0.0/8."""
    try:
        base = ipaddress.IPv4Address(base_ip)
    except ValueError:
        raise SandboxError(f"--base-ip {base_ip!r} is not an IPv4 address") from None
    result = [base + offset for offset in range(spare + 1)]
    if any(address not in LOOPBACK for address in result):
        raise SandboxError(f"the sandbox needs {spare + 1} loopback addresses from {base_ip}: "
                           "use an address in 127.0.0.0/8 with room after it")
    return [str(address) for address in result]


def home_of(directory: str | Path, ip: str) -> Path:
    """The observer home of the node on `ip`."""
    return Path(directory) / "homes" / ip


def log_of(directory: str | Path, ip: str) -> Path:
    """Where the agent on `ip` writes its standard output and error."""
    return Path(directory) / "logs" / f"serve-{ip}.out"


def state_file(directory: str | Path) -> Path:
    """The obemu state file shared by every observer of the sandbox."""
    return Path(directory) / "obemu" / f"{CLUSTER_NAME}-{CLUSTER_ID}.sqlite"
