"""Host prechecks run on the target before anything is created (spec/scale-out.md §5).

Also the entry format every precheck report uses (result, PASS/WARN/FAIL, failed).
"""
from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from app.scaleout.rules import parse_capacity

PASS, WARN, FAIL = "pass", "warn", "fail"
SKEW_WARN_S = 0.1
SKEW_FAIL_S = 2.0


def result(name: str, status: str, observed: str, required: str, hint: str = "") -> dict[str, str]:
    return {"name": name, "status": status, "observed": observed, "required": required,
            "hint": hint}


def port_free(name: str, ip: str, port: int) -> dict[str, str]:
    """Binding ip:port with SO_REUSEADDR succeeds (TIME_WAIT leftovers do not count)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or "cannot bind")
            return result(name, FAIL, f"{ip}:{port} {why}", "port free",
                          f"stop the process listening on {port} or choose another "
                          f"{name.removesuffix('_free')}")
    return result(name, PASS, f"{ip}:{port} free", "port free")


def dir_empty(key: str, path: str) -> dict[str, str]:
    """The dir is absent or empty, and its nearest existing parent is writable."""
    name = f"dir_empty:{key}"
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            return result(name, FAIL, f"{path} is not a directory", "absent or empty directory",
                          f"remove {path} or choose another {key}")
        if any(target.iterdir()):
            return result(name, FAIL, f"{path} is not empty", "absent or empty directory",
                          f"empty {path} or choose another {key}")
    parent = target if target.exists() else next(p for p in target.parents if p.exists())
    problem = _cannot_create_in(parent)
    if problem:
        return result(name, FAIL, f"cannot create directories in {parent}: {problem}",
                      "writable parent", f"choose a {key} on a writable file system, or grant "
                      f"the agent's user write access to {parent}")
    return result(name, PASS, f"{path} usable", "absent or empty directory")


def _cannot_create_in(parent: Path) -> str:
    """'' when a directory can be made in `parent` (tried: permission bits do not bind root,
    and /proc or a read-only mount refuse whatever they say); else why not. Leaves nothing."""
    try:
        probe = tempfile.mkdtemp(prefix=".obscale-probe-", dir=parent)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.rmdir(probe)
    return ""


def _existing(path: str) -> str:
    target = Path(path)
    return str(target if target.exists() else next(p for p in target.parents if p.exists()))


def disk_space(configs: Mapping[str, str], dirs: Mapping[str, str]) -> dict[str, str]:
    """Free space for datafile_size (data_dir) and log_disk_size (clog_dir)."""
    wanted: dict[int, int] = {}
    for key, dir_key in (("datafile_size", "data_dir"), ("log_disk_size", "clog_dir")):
        if key not in configs:
            continue
        size = parse_capacity(configs[key])
        if size is None:
            return result("disk_space", WARN, f"{key} is a percentage", "absolute sizes",
                          "not computed for percentages")
        device = os.stat(_existing(dirs[dir_key])).st_dev
        wanted[device] = wanted.get(device, 0) + size
    if not wanted:
        return result("disk_space", PASS, "no sizes given", "enough free space")
    for dir_key in ("data_dir", "clog_dir"):
        path = _existing(dirs[dir_key])
        need = wanted.pop(os.stat(path).st_dev, 0)
        free = shutil.disk_usage(path).free
        if need > free:
            return result("disk_space", FAIL, f"{free >> 20} MiB free under {path}",
                          f"{need >> 20} MiB", "free disk space or lower the sizes")
    return result("disk_space", PASS, "enough free space", "sizes fit")


def _meminfo() -> dict[str, int]:
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return values


def memory_limit(configs: Mapping[str, str]) -> dict[str, str]:
    """memory_limit fits into physical memory (warn above what is available now)."""
    if "memory_limit" not in configs:
        return result("memory_limit", PASS, "not given", "memory_limit <= MemTotal")
    limit = parse_capacity(configs["memory_limit"])
    if limit is None:
        return result("memory_limit", PASS, "percentage", "memory_limit <= MemTotal")
    info = _meminfo()
    observed = f"memory_limit {limit >> 20} MiB, MemTotal {info['MemTotal'] >> 20} MiB"
    if limit > info["MemTotal"]:
        return result("memory_limit", FAIL, observed, "memory_limit <= MemTotal",
                      "lower memory_limit")
    if limit > info.get("MemAvailable", info["MemTotal"]):
        return result("memory_limit", WARN, observed, "memory_limit <= MemAvailable",
                      "free memory on the host")
    return result("memory_limit", PASS, observed, "memory_limit <= MemTotal")


def clock_skew(peer_time: Callable[[], str]) -> dict[str, str]:
    """|T - C| measured with C's GET /api/v1/time, corrected by half the round trip."""
    started = time.time()
    try:
        remote = datetime.fromisoformat(peer_time().replace("Z", "+00:00")).timestamp()
    except Exception as exc:  # noqa: BLE001 - any failure to read the peer clock is a warning
        return result("clock_skew", WARN, f"coordinator time unreadable ({type(exc).__name__})",
                      f"skew < {SKEW_FAIL_S:g} s", "check the coordinator's /api/v1/time")
    ended = time.time()
    skew = abs((started + ended) / 2 - remote)
    observed = f"{skew * 1000:.0f} ms"
    if skew >= SKEW_FAIL_S:
        return result("clock_skew", FAIL, observed, f"< {SKEW_FAIL_S:g} s", "synchronise clocks (NTP)")
    if skew > SKEW_WARN_S:
        return result("clock_skew", WARN, observed, f"< {SKEW_WARN_S * 1000:.0f} ms",
                      "synchronise clocks (NTP)")
    return result("clock_skew", PASS, observed, f"< {SKEW_WARN_S * 1000:.0f} ms")


def observer_binary(home: str) -> dict[str, str]:
    """<home>/bin/observer is an executable regular file whose -V prints a version."""
    path = Path(home) / "bin" / "observer"
    if not path.is_file() or not os.access(path, os.X_OK):
        return result("observer_binary", FAIL, f"{path} missing or not executable",
                      "executable observer binary", f"install the observer into {path}")
    try:
        proc = subprocess.run([str(path), "-V"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return result("observer_binary", WARN, f"-V failed ({type(exc).__name__})",
                      "-V prints a version")
    if b"OceanBase" not in proc.stdout + proc.stderr:
        return result("observer_binary", WARN, "-V printed no version", "-V prints a version")
    return result("observer_binary", PASS, f"{path}", "executable observer binary")


def run_host_checks(ip: str, home: str, configs: Mapping[str, Any], dirs: Mapping[str, str],
                    peer_time: Callable[[], str] | None) -> list[dict[str, str]]:
    """Every host check, in a stable order."""
    checks = [port_free("mysql_port_free", ip, int(configs["mysql_port"])),
              port_free("rpc_port_free", ip, int(configs["rpc_port"]))]
    for key in ("data_dir", "redo_dir", "clog_dir", "slog_dir"):
        checks.append(dir_empty(key, dirs[key]))
    checks += [disk_space(configs, dirs), memory_limit(configs)]
    if peer_time is not None:
        checks.append(clock_skew(peer_time))
    checks.append(observer_binary(home))
    return checks


def failed(checks: list[dict[str, str]]) -> list[dict[str, str]]:
    return [c for c in checks if c["status"] == FAIL]
