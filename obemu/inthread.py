"""An in-thread observer for fast unit tests: its event loop runs in a daemon thread."""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any, Mapping

from obemu import constants as c
from obemu.config import NodeConfig, format_addr, knobs_from_env
from obemu.process import bind_ports


class Observer:
    """One node in this process. Ports may be 0 (ephemeral); `start()` takes about 10 ms."""

    def __init__(self, ip: str = "127.0.0.1", mysql_port: int = 0, rpc_port: int = 0, *,
                 state_path: str | Path, zone: str = c.DEFAULT_ZONE,
                 cluster: str = c.DEFAULT_CLUSTER, cluster_id: int = c.DEFAULT_CLUSTER_ID,
                 env: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None):
        self.ip, self.zone = ip, zone
        self.cluster, self.cluster_id = cluster, cluster_id
        self.state_path = Path(state_path)
        self._requested = (mysql_port, rpc_port)
        self._env = dict(env or {})
        self._params = dict(params or {})
        self.mysql_port, self.rpc_port = mysql_port, rpc_port
        self.runtime = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def addr(self) -> str:
        """`ip:rpc_port`, the server's identity in DBA_OB_SERVERS."""
        return format_addr(self.ip, self.rpc_port)

    def _config(self) -> NodeConfig:
        cfg = NodeConfig(ip=self.ip, mysql_port=self.mysql_port, rpc_port=self.rpc_port,
                         zone=self.zone, cluster=self.cluster, cluster_id=self.cluster_id,
                         state_path=self.state_path, knobs=knobs_from_env(self._env))
        cfg.params = {**c.DEFAULT_PARAMETERS, **self._params, "cluster": self.cluster,
                      "cluster_id": str(self.cluster_id), "zone": self.zone,
                      "mysql_port": str(self.mysql_port), "rpc_port": str(self.rpc_port),
                      "local_ip": self.ip}
        return cfg

    def start(self, timeout: float = 10.0) -> "Observer":
        """Bind, start the loop thread and wait until the node listens."""
        from obemu.runtime import ObserverRuntime
        mysql_sock, rpc_sock = bind_ports(self.ip, *self._requested)
        self.mysql_port = mysql_sock.getsockname()[1]
        self.rpc_port = rpc_sock.getsockname()[1]
        self.runtime = ObserverRuntime(self._config(), mysql_sock, rpc_sock,
                                       on_ready=self._ready.set)
        self._thread = threading.Thread(target=self._run, name=f"obemu-{self.addr}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"in-thread observer {self.addr} did not start: {self._error!r}")
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            await self.runtime.run()
        try:
            asyncio.run(main())
        except BaseException as error:  # reported by start()/stop(), never lost in the thread
            self._error = error
            self._ready.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Kill the client connections, close the listeners and join the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self.runtime is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.runtime.stop)
        self._thread.join(timeout)
        self._thread = None

    def connect(self, user: str = "root", password: str = "", **kwargs: Any):
        """A PyMySQL connection to this node."""
        from obemu.client import connect
        return connect(self.ip, self.mysql_port, user, password, **kwargs)

    def __enter__(self) -> "Observer":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return os.getpid()
