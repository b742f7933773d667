"""A real scale-out setup: an obemu cluster, its coordinator agent, and SINGLE target agents.

Every process is a real subprocess on its own loopback address; teardown stops them by pid.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from obemu.testing import ClusterHandle, Fleet
from tests.support.agents import AgentHandle, obscale_command, start_serve, stop_serve
from tests.support.polling import wait_until

ROOT_PASSWORD = "Root-pw_1"
# Fast, but with the same relations between budgets as the defaults.
FAST_SETTINGS = {
    "OBSCALE_SCALE_OUT_POLL_INTERVAL_S": "0.2",
    "OBSCALE_OB_CONNECT_TIMEOUT_S": "2",
    "OBSCALE_OB_READ_TIMEOUT_S": "5",
    "OBSCALE_AGENT_HTTP_TIMEOUT_S": "5",
    "OBSCALE_OBSERVER_STOP_TIMEOUT_S": "10",
}


@dataclass
class ScaleOutSetup:
    fleet: Fleet
    cluster: ClusterHandle
    coordinator: AgentHandle
    env: dict[str, str]
    targets: dict[str, AgentHandle] = field(default_factory=dict)
    workers: int | None = 2  # None: the agents' own default (the benchmark measures that)

    def add_target(self, ip: str, extra_env: Mapping[str, str] | None = None) -> AgentHandle:
        """A SINGLE agent on `ip` whose home holds the obemu shim."""
        home = self.fleet.observer_home(self.fleet.base_dir / f"target-{ip}")
        handle = start_serve(ip, home, env={**self.env, **(extra_env or {})},
                             workers=self.workers)
        self.targets[ip] = handle
        return handle

    def sql(self, statement: str, args=None) -> list[tuple]:
        """Run a query on the cluster as root@sys."""
        conn = self.cluster.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, args)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def server_row(self, ip: str, rpc_port: int = 2882):
        rows = self.sql("SELECT ZONE, STATUS, START_SERVICE_TIME, STOP_TIME FROM "
                        "oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s AND SVR_PORT = %s", (ip, rpc_port))
        return rows[0] if rows else None

    def zone_status(self, zone: str):
        rows = self.sql("SELECT STATUS FROM oceanbase.DBA_OB_ZONES WHERE ZONE = %s", (zone,))
        return rows[0][0] if rows else None

    def statements(self, pattern: str) -> list[tuple]:
        """(sql, code) of the ALTER statements obemu recorded that contain `pattern`."""
        conn = sqlite3.connect(str(self.cluster.state_path))
        try:
            return conn.execute("SELECT sql, code FROM emu_statements WHERE sql LIKE ? "
                                "ORDER BY id", (f"%{pattern}%",)).fetchall()
        finally:
            conn.close()


def obemu_cli(state_path: str | Path, *args: str) -> None:
    """Run the `obemu` CLI on a cluster's state file (e.g. `fault add ...`)."""
    env = {**os.environ, "OBEMU_STATE": str(state_path)}
    subprocess.run([str(Path(sys.executable).parent / "obemu"), *args], env=env, check=True,
                   capture_output=True, timeout=30)


class Faults:
    """obemu faults a test injects; `clear_all()` (the fixture's teardown) removes them."""

    def __init__(self, state_path: str | Path):
        self.state_path = state_path
        self.servers: set[str] = set()

    def add(self, server: str, fault: str) -> None:
        """Inject `fault` for `server` (ip:rpc_port)."""
        self.servers.add(server)
        obemu_cli(self.state_path, "fault", "add", "--server", server, fault)

    def clear(self, server: str) -> None:
        obemu_cli(self.state_path, "fault", "clear", "--server", server)

    def clear_all(self) -> None:
        for server in sorted(self.servers):
            self.clear(server)
        self.servers.clear()


def release_cluster_lock(client, timeout: float = 300.0) -> None:
    """Until no cluster DAG is unfinished: CANCEL running ones, ROLLBACK failed ones."""
    from obshell.service.client_v1 import OBShellHandleError

    def settled() -> bool:
        unfinished = client.get_cluster_unfinished_dag(show_detail=False)
        for dag in unfinished:
            operator = "ROLLBACK" if dag.state == "FAILED" else "CANCEL"
            with contextlib.suppress(OBShellHandleError):
                client.operate_dag(dag.generic_id, operator)
        return not unfinished

    wait_until(settled, timeout, 0.2, what="no unfinished cluster DAG")


def takeover(home: Path, ip: str, env: Mapping[str, str],
             password: str = ROOT_PASSWORD) -> subprocess.CompletedProcess:
    """`obscale takeover` as an operator runs it (password from the environment)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    full_env.update(env)
    full_env["TAKEOVER_ROOT_PASSWORD"] = password
    return subprocess.run(obscale_command() + ["takeover", "--home", str(home), "--ip", ip,
                                               "--port", "2886", "--root-password-env",
                                               "TAKEOVER_ROOT_PASSWORD"],
                          env=full_env, capture_output=True, text=True, timeout=60, check=False)


@contextlib.contextmanager
def scale_out_setup(base_dir: Path, coordinator_ip: str, extra_env: Mapping[str, str] | None = None,
                    fast: bool = True) -> Iterator[ScaleOutSetup]:
    """A one-node cluster on `coordinator_ip` taken over by its agent; add targets inside.

    fast=False keeps the agents' default settings, worker count included (the benchmark uses
    that).
    """
    fleet = Fleet(base_dir)
    setup: ScaleOutSetup | None = None
    try:
        cluster = fleet.start_cluster(coordinator_ip, root_password=ROOT_PASSWORD, zone="zone1",
                                      cluster="obdemo", cluster_id=7)
        env = {**(FAST_SETTINGS if fast else {}), **cluster.env, **(extra_env or {})}
        result = takeover(cluster.home, coordinator_ip, env)
        assert result.returncode == 0, result.stderr
        workers = 2 if fast else None
        setup = ScaleOutSetup(fleet, cluster, start_serve(coordinator_ip, cluster.home, env=env,
                                                          workers=workers), env, workers=workers)
        yield setup
    finally:
        agents = [setup.coordinator, *setup.targets.values()] if setup else []
        for handle in agents:
            with contextlib.suppress(Exception):
                stop_serve(handle, check=False)
        fleet.teardown()


def hold_env(folder: Path) -> dict[str, str]:
    """The environment that makes an agent load the hold points and look in `folder`."""
    from tests.support.holds import HOLD_DIR_ENV

    repo_root = Path(__file__).resolve().parents[2]
    return {"OBSCALE_TEMPLATE_MODULES": "tests.support.holds", "PYTHONPATH": str(repo_root),
            HOLD_DIR_ENV: str(folder)}


@contextlib.contextmanager
def held_setup(base_dir: Path, coordinator_ip: str, holds: Path,
               extra_env: Mapping[str, str] | None = None) -> Iterator[ScaleOutSetup]:
    """scale_out_setup whose agents stop at the hold files in `holds`; files a failed test
    left are removed at the end, so no consumer stays blocked."""
    with scale_out_setup(base_dir, coordinator_ip, {**(extra_env or {}), **hold_env(holds)}) \
            as running:
        try:
            yield running
        finally:
            for path in holds.iterdir():
                path.unlink()


def module_setup(name: str, coordinator_ip: str, extra_env: Mapping[str, str] | None = None):
    """A module-scoped `setup` fixture: one cluster and coordinator for a whole test module."""
    import pytest

    @pytest.fixture(scope="module")
    def setup(tmp_path_factory):
        with scale_out_setup(tmp_path_factory.mktemp(name), coordinator_ip, extra_env) as running:
            yield running

    return setup
