"""The effective configuration of one node: flags, then etc/observer.config.bin, then defaults."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from obemu import constants as c

CONFIG_FORMAT = "obemu-observer-config-1"
# parameter name in config.bin -> Options attribute
FLAG_PARAMETERS = {
    "cluster": "appname", "cluster_id": "cluster_id", "zone": "zone", "mysql_port": "mysql_port",
    "rpc_port": "rpc_port", "data_dir": "data_dir", "local_ip": "local_ip", "devname": "devname",
    "syslog_level": "log_level", "rootservice_list": "rs_list",
}


@dataclass
class Knobs:
    """Environment knobs (§9); lease and delete delay are replaced by the cluster's recorded ones."""

    lease_s: float = c.DEFAULT_LEASE_S
    start_delay_s: float = c.DEFAULT_START_DELAY_S
    delete_delay_s: float = c.DEFAULT_DELETE_DELAY_S
    version: str = c.DEFAULT_VERSION
    faults: str = ""
    time_zone: str = c.DEFAULT_TIME_ZONE


@dataclass
class NodeConfig:
    """Everything a running node needs to know about itself."""

    ip: str
    mysql_port: int
    rpc_port: int
    zone: str = c.DEFAULT_ZONE
    cluster: str = c.DEFAULT_CLUSTER
    cluster_id: int = c.DEFAULT_CLUSTER_ID
    state_path: Path = Path("obemu.sqlite")
    home: Path | None = None
    data_dir: Path | None = None
    params: dict[str, str] = field(default_factory=dict)
    knobs: Knobs = field(default_factory=Knobs)
    nodaemon: bool = True
    nonempty: bool = False

    @property
    def addr(self) -> str:
        """`ip:rpc_port`, the server's identity (`[ip]:port` for IPv6)."""
        return format_addr(self.ip, self.rpc_port)


def format_addr(ip: str, port: int) -> str:
    """`ip:port`, bracketing IPv6 addresses."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, "") or default)
    except ValueError:
        return default


def knobs_from_env(env: Mapping[str, str]) -> Knobs:
    """Read the OBEMU_* knobs from an environment mapping."""
    return Knobs(
        lease_s=_float(env, "OBEMU_LEASE_S", c.DEFAULT_LEASE_S),
        start_delay_s=_float(env, "OBEMU_START_DELAY_S", c.DEFAULT_START_DELAY_S),
        delete_delay_s=_float(env, "OBEMU_DELETE_DELAY_S", c.DEFAULT_DELETE_DELAY_S),
        version=env.get("OBEMU_VERSION") or c.DEFAULT_VERSION,
        faults=env.get("OBEMU_FAULTS", ""),
        time_zone=env.get("OBEMU_TIME_ZONE") or c.DEFAULT_TIME_ZONE,
    )


def state_path_for(cluster: str, cluster_id: int, env: Mapping[str, str]) -> Path:
    """OBEMU_STATE, else ${OBEMU_HOME:-<tmpdir>/obemu}/<cluster>-<cluster_id>.sqlite."""
    if env.get("OBEMU_STATE"):
        return Path(env["OBEMU_STATE"]).absolute()
    base = env.get("OBEMU_HOME") or os.path.join(tempfile.gettempdir(), "obemu")
    return Path(base).absolute() / f"{cluster}-{cluster_id}.sqlite"


def config_bin_path(home: Path) -> Path:
    return home / "etc" / "observer.config.bin"


def read_config_bin(home: Path) -> dict[str, str]:
    """Parameters saved by a previous start in this home; {} when absent or unreadable."""
    try:
        data = json.loads(config_bin_path(home).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT:
        return {}
    return {str(k): str(v) for k, v in data.get("params", {}).items()}


def write_config_bin(home: Path, params: Mapping[str, str]) -> None:
    """Write etc/observer.config.bin atomically, keeping the previous one as `.history`."""
    path = config_bin_path(home)
    if path.exists():
        path.with_name(path.name + ".history").write_bytes(path.read_bytes())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": CONFIG_FORMAT, "params": dict(params)}, indent=1))
    os.replace(tmp, path)
