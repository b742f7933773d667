"""The asyncio side of a node: listeners, heartbeat, crash timer and a clean stop."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
from typing import Callable

from mysql_mimic import MysqlServer
from mysql_mimic import errors as mimic_errors

from obemu import procs
from obemu.auth import ObIdentityProvider
from obemu.config import NodeConfig, format_addr
from obemu.connection import ObMysqlServer
from obemu.constants import HEARTBEAT_INTERVAL_S, STOP_GRACE_S
from obemu.errors import SQLSTATES
from obemu.node import Node
from obemu.session import ObSession, global_variables
from obemu.state import StateStore

logger = logging.getLogger(__name__)


def quiet_libraries() -> None:
    """mysql-mimic logs every MysqlError at ERROR; sqlglot warns on each opaque Command."""
    logging.getLogger("mysql_mimic").setLevel(logging.CRITICAL)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def register_sqlstates() -> None:
    """Error packets carry OceanBase's SQLSTATE for each MySQL-compatible code; mysql-mimic
    looks them up in its module-level table, so the entries are added there, once."""
    for code, state in SQLSTATES.items():
        mimic_errors.SQLSTATES.setdefault(code, state.encode())  # type: ignore[call-overload]


async def kill_connections(server: MysqlServer) -> None:
    """Kill every client connection (they get 3169) through mysql-mimic's private table.

    close() and wait_closed() alone leave open connections running, so this is the one place
    that reaches into `control._connections`.
    """
    connections = list(server.control._connections.values())  # type: ignore[attr-defined]
    tasks = [conn._task for conn in connections if conn._task is not None]
    for conn in connections:
        conn.kill()
    if tasks:
        await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    for _ in range(3):
        await asyncio.sleep(0)


async def _close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


class ObserverRuntime:
    """Runs one node on pre-bound sockets until stop() (or SIGTERM when install_signals)."""

    def __init__(self, cfg: NodeConfig, mysql_sock: socket.socket, rpc_sock: socket.socket, *,
                 on_ready: Callable[[], None] | None = None,
                 on_crash: Callable[[], None] | None = None, install_signals: bool = False):
        self.cfg = cfg
        self.mysql_sock, self.rpc_sock = mysql_sock, rpc_sock
        self.on_ready, self.on_crash = on_ready, on_crash
        self.install_signals = install_signals
        self.pid = os.getpid()
        self.crashed = False
        self.store: StateStore | None = None
        self.node: Node | None = None
        self.mysql_server: ObMysqlServer | None = None
        self.rpc_server: asyncio.base_events.Server | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []

    async def run(self) -> None:
        """Start, serve until stopped, then shut down cleanly."""
        self._stop = asyncio.Event()
        if self.install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
        try:
            if await self._start():
                await self._stop.wait()
        finally:
            await self._shutdown()

    def stop(self) -> None:
        """Request a clean stop (call from the event loop's thread)."""
        if self._stop is not None:
            self._stop.set()

    async def _start(self) -> bool:
        quiet_libraries()
        register_sqlstates()
        cfg = self.cfg
        self.store = StateStore(cfg.state_path, cfg.ip, cfg.rpc_port, cfg.knobs.version)
        lease, delete_delay = self.store.cluster_knobs(cfg.knobs.lease_s, cfg.knobs.delete_delay_s)
        self.node = Node(cfg, self.store, lease, delete_delay)
        faults = self.node.faults()
        procs.register(self.store, cfg, self.pid, heartbeat=not faults.has("never_active"))
        if cfg.knobs.start_delay_s > 0 and await self._stopped_within(cfg.knobs.start_delay_s):
            return False
        await self._listen(rpc=not faults.has("rpc_unreachable"))
        self._tasks.append(asyncio.create_task(self._heartbeat_loop()))
        crash = faults.first("crash_after")
        if crash:
            asyncio.get_running_loop().call_later(crash.number, self._crash)
        logger.info("READY mysql=%s rpc=%s pid=%s", format_addr(cfg.ip, cfg.mysql_port),
                    cfg.addr, self.pid)
        if self.on_ready:
            self.on_ready()
        return True

    async def _stopped_within(self, seconds: float) -> bool:
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _listen(self, rpc: bool) -> None:
        assert self.node is not None
        node = self.node
        variables = global_variables(self.cfg.knobs.version, self.cfg.knobs.time_zone)
        self.mysql_server = ObMysqlServer(session_factory=lambda: ObSession(node, variables),
                                          identity_provider=ObIdentityProvider(node))
        await self.mysql_server.start_server(sock=self.mysql_sock, port=None)
        if rpc:
            self.rpc_server = await asyncio.start_server(_close_at_once, sock=self.rpc_sock)

    async def _heartbeat_loop(self) -> None:
        assert self.node is not None and self.store is not None
        while True:
            try:
                if not self.node.faults().has("never_active"):
                    procs.heartbeat(self.store, self.cfg.ip, self.cfg.rpc_port)
            except sqlite3.Error:
                logger.exception("heartbeat failed")
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)

    def _crash(self) -> None:
        logger.error("crash_after: exiting without cleanup")
        self.crashed = True
        if self.on_crash:
            self.on_crash()
        self.stop()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.mysql_server is not None:
            if self.node is not None:
                await self.node.drain_statements(STOP_GRACE_S)
            await kill_connections(self.mysql_server)
            self.mysql_server.close()
            await self.mysql_server.wait_closed()
        if self.rpc_server is not None:
            self.rpc_server.close()
            await self.rpc_server.wait_closed()
        self.mysql_sock.close()
        self.rpc_sock.close()
        if self.store is not None:
            if not self.crashed:
                procs.mark_stopped(self.store, self.cfg.ip, self.cfg.rpc_port, self.pid)
            self.store.close()
        if self.node is not None:
            self.node.tables.close()
        logger.info("stopped")
