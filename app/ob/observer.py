"""Launching, checking and stopping the local observer process of a home directory."""
from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import time
from pathlib import Path
from typing import Mapping

from app.process import procfs


FLAG_KEYS = ("zone", "cluster", "cluster_id", "mysql_port", "rpc_port", "devname",
             "syslog_level", "homePath", "data_dir", "redo_dir", "clog_dir", "slog_dir")


def pid_file(home: str) -> Path:
    return Path(home) / "run" / "observer.pid"


def read_pid(home: str) -> int | None:
    """The pid recorded in <home>/run/observer.pid, or None."""
    try:
        text = pid_file(home).read_text().strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def is_observer_of_home(pid: int | None, home: str) -> bool:
    """True if the live process runs from this home: cwd is the home and it was started as an observer."""
    if not procfs.alive(pid):
        return False
    started_as_observer = any("observer" in part for part in procfs.cmdline(pid)[:2])
    return started_as_observer and procfs.cwd(pid) == os.path.realpath(home)


def live_observer_pid(home: str) -> int | None:
    """The pid of a live observer started from this home, if any."""
    pid = read_pid(home)
    return pid if is_observer_of_home(pid, home) else None


def build_command(home: str, ip: str, config: Mapping[str, str], dirs: Mapping[str, str]) -> list[str]:
    """The observer argument list of spec §4.5 (no shell)."""
    argv = [str(Path(home) / "bin" / "observer"),
            "-n", config["cluster"], "-c", str(config["cluster_id"]),
            "-d", dirs["data_dir"], "-z", config["zone"],
            "-p", str(config["mysql_port"]), "-P", str(config["rpc_port"]), "-I", ip]
    if config.get("devname"):
        argv += ["-i", config["devname"]]
    if config.get("syslog_level"):
        argv += ["-l", config["syslog_level"]]
    if ipaddress.ip_address(ip).version == 6:
        argv.append("-6")
    extras = sorted((k, v) for k, v in config.items() if k not in FLAG_KEYS)
    if extras:
        argv += ["-o", ",".join(f"{k}={v}" for k, v in extras)]
    return argv


def launch(home: str, argv: list[str], timeout_s: float) -> tuple[int, str]:
    """Run the observer launcher (it daemonises); return its exit code and last output lines."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(Path(home) / "lib")
    proc = subprocess.run(argv, cwd=home, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout_s, check=False)
    output = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    return proc.returncode, " | ".join(output[-3:])


def serves_mysql(ip: str, port: int, timeout_s: float) -> bool:
    """True if ip:port completes a MySQL handshake (a login, or a clean 1045 refusal)."""
    import pymysql  # only the consumer needs it; the supervisor imports this module too

    try:
        conn = pymysql.connect(host=ip, port=int(port), user="root", password="",
                               connect_timeout=timeout_s, read_timeout=timeout_s,
                               ssl_disabled=True)
    except pymysql.err.OperationalError as exc:
        return bool(exc.args) and exc.args[0] == 1045
    except Exception:  # noqa: BLE001 - anything else means "not serving yet"
        return False
    with contextlib.suppress(Exception):
        conn.close()
    return True


def send_signal(pid: int, sig: int) -> None:
    """Signal pid; one that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_gone(pid: int, within_s: float, poll_s: float = 0.02) -> bool:
    """Check for at most within_s whether pid has exited; True once it is gone."""
    deadline = time.monotonic() + within_s
    while procfs.alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True
