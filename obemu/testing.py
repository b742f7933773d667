"""Test helpers: observer homes, subprocess clusters and spares, in-thread nodes, teardown by pid.

Every process started here, and every pid found in `run/observer.pid` of a home created here,
is stopped by pid at teardown (SIGTERM, up to 5 s, then SIGKILL); nothing is killed by name.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from obemu import constants as c
from obemu.client import bootstrap, connect
from obemu.config import format_addr
from obemu.inthread import Observer
from obemu.procutil import Launch, stop_pids, observer_pid, spawn_foreground, spawn_daemon

DEFAULT_ROOT_PASSWORD = "obemu-root"
__all__ = ["ClusterHandle", "Fleet", "NodeHandle", "Observer", "default_fleet", "observer_binary",
           "observer_home", "start_cluster", "start_spare", "teardown"]


def observer_binary() -> str:
    """Absolute path of `obemu-observer`: on PATH, else next to sys.executable."""
    found = shutil.which("obemu-observer")
    if found:
        return os.path.abspath(found)
    beside = Path(sys.executable).parent / "obemu-observer"
    if beside.exists():
        return str(beside)
    raise FileNotFoundError("obemu-observer is not installed (pip install -e .)")


def write_shim(home: Path) -> Path:
    """`<home>/bin/observer`, a shell shim whose only command execs obemu-observer."""
    shim = home / "bin" / "observer"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {observer_binary()} "$@"\n')
    shim.chmod(0o755)
    (home / "lib").mkdir(exist_ok=True)
    return shim


@dataclass
class NodeHandle:
    """A node started as a subprocess (the product's view: ip, ports, pid, home)."""

    ip: str
    mysql_port: int
    rpc_port: int
    zone: str
    pid: int
    home: Path
    state_path: Path
    cluster: str
    cluster_id: int
    env: dict[str, str] = field(default_factory=dict)
    launch: Launch | None = None

    @property
    def addr(self) -> str:
        """`ip:rpc_port` as ADD SERVER and DBA_OB_SERVERS name it."""
        return format_addr(self.ip, self.rpc_port)

    def connect(self, password: str = "", user: str = "root", **kwargs: Any):
        """A PyMySQL connection (autocommit, no TLS)."""
        return connect(self.ip, self.mysql_port, user, password, **kwargs)


@dataclass
class ClusterHandle(NodeHandle):
    """A bootstrapped one-node cluster; `root_password` is set."""

    root_password: str = DEFAULT_ROOT_PASSWORD

    def connect(self, password: str | None = None, user: str = "root", **kwargs: Any):
        return super().connect(self.root_password if password is None else password, user,
                               **kwargs)


class Fleet:
    """Everything one test started, so that teardown() can stop it by pid."""

    def __init__(self, base_dir: str | Path | None = None, env: Mapping[str, str] | None = None):
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="obemu-"))
        self.env = dict(env or {})
        self.launches: list[Launch] = []
        self.homes: list[Path] = []
        self.state_paths: set[Path] = set()
        self.observers: list[Observer] = []

    def observer_home(self, path: str | Path | None = None) -> Path:
        """Create (and remember) a home with the bin/observer shim and an empty lib/."""
        home = Path(path) if path is not None else self.base_dir / f"home{len(self.homes) + 1}"
        write_shim(home)
        self.homes.append(home)
        return home

    def state_path(self, cluster: str, cluster_id: int) -> Path:
        """Default state file: `<base_dir>/obemu/<cluster>-<cluster_id>.sqlite`."""
        return self.base_dir / "obemu" / f"{cluster}-{cluster_id}.sqlite"

    def node_env(self, state_path: Path, env: Mapping[str, str] | None) -> dict[str, str]:
        """OBEMU_* variables a node (or an agent that launches nodes) needs for this cluster."""
        self.state_paths.add(state_path)
        result = {**self.env, "OBEMU_STATE": str(state_path)}
        result.update(env or {})
        return result

    def start_node(self, ip: str, zone: str = c.DEFAULT_ZONE, *,
                   mysql_port: int = c.DEFAULT_MYSQL_PORT, rpc_port: int = c.DEFAULT_RPC_PORT,
                   cluster: str = c.DEFAULT_CLUSTER, cluster_id: int = c.DEFAULT_CLUSTER_ID,
                   state_path: str | Path | None = None, env: Mapping[str, str] | None = None,
                   home: str | Path | None = None, extra_args: Sequence[str] = (),
                   daemon: bool = False, timeout: float = 15.0) -> NodeHandle:
        """Start `<home>/bin/observer` with the product's flags and wait for READY."""
        path = Path(state_path) if state_path else self.state_path(cluster, cluster_id)
        node_env = self.node_env(path, env)
        home_path = self.observer_home(home)
        argv = [str(home_path / "bin" / "observer"), "-n", cluster, "-c", str(cluster_id),
                "-d", str(home_path / "store"), "-z", zone, "-p", str(mysql_port),
                "-P", str(rpc_port), "-I", ip, *extra_args]
        spawn = spawn_daemon if daemon else spawn_foreground
        launch = spawn(argv, home_path, {**os.environ, **node_env}, timeout)
        self.launches.append(launch)
        return NodeHandle(ip, mysql_port, rpc_port, zone, launch.pid, home_path, path, cluster,
                          cluster_id, node_env, launch)

    def start_cluster(self, ip: str = "127.0.0.1", *, zone: str = c.DEFAULT_ZONE,
                      root_password: str = DEFAULT_ROOT_PASSWORD, region: str | None = None,
                      **node_args: Any) -> ClusterHandle:
        """A bootstrapped one-node cluster under -N, with root's password set."""
        node = self.start_node(ip, zone, **node_args)
        bootstrap(node.ip, node.mysql_port, node.rpc_port, zone, root_password, region)
        return ClusterHandle(**{**node.__dict__, "root_password": root_password})

    def start_spare(self, ip: str, zone: str = c.DEFAULT_ZONE, *,
                    cluster: NodeHandle | None = None, **node_args: Any) -> NodeHandle:
        """A node of the same cluster that is not added (for ADD SERVER tests)."""
        if cluster is not None:
            node_args.setdefault("cluster", cluster.cluster)
            node_args.setdefault("cluster_id", cluster.cluster_id)
            node_args.setdefault("state_path", cluster.state_path)
            node_args["env"] = {**cluster.env, **(node_args.get("env") or {})}
        return self.start_node(ip, zone, **node_args)

    def observer(self, ip: str = "127.0.0.1", **kwargs: Any) -> Observer:
        """A started in-thread Observer, stopped at teardown."""
        kwargs.setdefault("state_path", self.state_path(kwargs.get("cluster", c.DEFAULT_CLUSTER),
                                                        kwargs.get("cluster_id", 1)))
        self.state_paths.add(Path(kwargs["state_path"]))
        node = Observer(ip, **kwargs)
        self.observers.append(node)
        return node.start()

    def pids(self) -> list[int]:
        """Pids started here plus those in run/observer.pid of every home created here."""
        pids = [launch.pid for launch in self.launches]
        pids += [pid for pid in map(observer_pid, self.homes) if pid is not None]
        return sorted(set(pids) - {os.getpid()})

    def teardown(self) -> None:
        """Stop everything by pid, then delete the state files."""
        for node in self.observers:
            node.stop()
        stop_pids(self.pids(), self.launches)
        for path in self.state_paths:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.launches.clear()
        self.observers.clear()


_DEFAULT: Fleet | None = None


def default_fleet(base_dir: str | Path | None = None) -> Fleet:
    """The module-level Fleet used by the plain functions below."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Fleet(base_dir)
    return _DEFAULT


def observer_home(path: str | Path) -> Path:
    """Create a home with the bin/observer shim and an empty lib/ (pid-tracked for teardown)."""
    return default_fleet().observer_home(path)


def start_cluster(ip: str = "127.0.0.1", **kwargs: Any) -> ClusterHandle:
    """Start and bootstrap a one-node cluster in the default fleet."""
    return default_fleet().start_cluster(ip, **kwargs)


def start_spare(ip: str, zone: str = c.DEFAULT_ZONE, **kwargs: Any) -> NodeHandle:
    """Start a node that is not added, in the default fleet."""
    return default_fleet().start_spare(ip, zone, **kwargs)


def teardown() -> None:
    """Tear down the default fleet."""
    global _DEFAULT
    if _DEFAULT is not None:
        _DEFAULT.teardown()
        _DEFAULT = None
