"""Process behaviour of the observer: binding, daemonising, pid file, log, home and data dir."""
from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable

from obemu.config import NodeConfig, read_config_bin, write_config_bin

logger = logging.getLogger(__name__)


class BindError(Exception):
    """A listener could not be bound; the message is the observer's stderr line."""


def bind_socket(ip: str, port: int) -> socket.socket:
    """A TCP socket bound (not listening) to ip:port with SO_REUSEADDR."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ip, port))
    except OSError as error:
        sock.close()
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise BindError(f"[ERROR] bind {ip}:{port} failed: {str(reason).lower()}") from None
    return sock


def bind_ports(ip: str, mysql_port: int, rpc_port: int) -> tuple[socket.socket, socket.socket]:
    """Bind the MySQL and RPC sockets, closing the first if the second fails."""
    mysql_sock = bind_socket(ip, mysql_port)
    try:
        rpc_sock = bind_socket(ip, rpc_port)
    except BindError:
        mysql_sock.close()
        raise
    return mysql_sock, rpc_sock


def _redirect_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def daemonize(home: Path) -> Callable[[], None]:
    """Double fork. The launcher exits 0 once notify() runs, 1 if the daemon dies first."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child > 0:
        os.close(write_end)
        os.waitpid(child, 0)
        with os.fdopen(read_end, "rb") as pipe:
            ok = pipe.read() == b"ok"
        os._exit(0 if ok else 1)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir(home)
    _redirect_stdio()

    def notify() -> None:
        os.write(write_end, b"ok")
        os.close(write_end)

    return notify


class _MicrosecondFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S.%f")


def setup_logging(home: Path) -> None:
    """Log to log/observer.log as `[YYYY-MM-DD HH:MM:SS.ffffff] LEVEL message`."""
    handler = logging.FileHandler(home / "log" / "observer.log")
    handler.setFormatter(_MicrosecondFormatter("[%(asctime)s] %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def pid_file(home: Path) -> Path:
    return home / "run" / "observer.pid"


def prepare_home(home: Path) -> None:
    """Create run/, log/ and etc/ and write this process's pid file."""
    for name in ("run", "log", "etc"):
        (home / name).mkdir(parents=True, exist_ok=True)
    pid_file(home).write_text(str(os.getpid()))


def remove_pid_file(home: Path) -> None:
    """Remove run/observer.pid if it still names this process."""
    path = pid_file(home)
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def prepare_data_dir(cfg: NodeConfig) -> None:
    """Create the store layout and sstable/block_file, then write etc/observer.config.bin."""
    assert cfg.home is not None and cfg.data_dir is not None
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("sstable", "clog", "slog"):
        (cfg.data_dir / name).mkdir(exist_ok=True)
    (cfg.data_dir / "sstable" / "block_file").touch(exist_ok=True)
    if cfg.nonempty:
        previous = read_config_bin(cfg.home)
        logger.warning("home holds cluster %s-%s: this server is not empty",
                       previous.get("cluster"), previous.get("cluster_id"))
        return
    write_config_bin(cfg.home, cfg.params)
