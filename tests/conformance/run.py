"""`make conformance`: start seekdb in a network namespace of its own, run the suite, stop seekdb.

seekdb (the single-node OceanBase kernel shipped in PyPI's pylibseekdb) binds 0.0.0.0 and
refuses to start without a non-loopback IPv4 interface that has a MAC address. So this script
re-executes itself under `unshare --net`, gives the new namespace `lo` and a veth pair, starts
seekdb there, runs tests/conformance against seekdb and then obemu (whose observers the suite
starts inside the same namespace), and stops seekdb by its pid whatever happens. seekdb that
does not come up is a failure with its own output and log, never a skip.
"""
from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql

IN_NAMESPACE_ENV = "OBSCALE_CONFORMANCE_NETNS"
TARGET_ENV = "OBSCALE_CONFORMANCE_TARGET"  # default: seekdb,obemu
SEEKDB_HOST = "127.0.0.1"
SEEKDB_PORT = 2881
VETH = ("obc0", "obc1")
VETH_ADDRESS = "127.0.1.1/8"
START_DEADLINE_S = 180.0
STOP_GRACE_S = 30.0
LOG_TAIL_LINES = 40
REPO = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1


class SeekdbFailed(Exception):
    """seekdb did not start; the message carries its own output."""


def enter_namespace(argv: list[str]) -> None:
    """Re-execute this script under `unshare --net` (root only); never returns."""
    if shutil.which("unshare") is None:
        sys.exit("conformance: `unshare` (util-linux) is required to run seekdb")
    env = {**os.environ, IN_NAMESPACE_ENV: "1"}
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, "-m",
                           "tests.conformance.run", *argv], env)


def run(command: list[str]) -> None:
    """Run a set-up command; its failure ends the run with its own message."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"conformance: {' '.join(command)} failed: {result.stderr.strip()}")


def set_up_network() -> None:
    """`lo` up plus a veth pair, one end carrying a 127.x address, in a namespace that is new."""
    if shutil.which("ip") is None:
        sys.exit("conformance: `ip` (iproute2) is required to set up seekdb's namespace")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    if len(links.strip().splitlines()) != 1:
        sys.exit("conformance: refusing to add interfaces outside a fresh network namespace")
    run(["ip", "link", "set", "lo", "up"])
    run(["ip", "link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1]])
    run(["ip", "addr", "add", VETH_ADDRESS, "dev", VETH[0]])
    for name in VETH:
        run(["ip", "link", "set", name, "up"])


def seekdb_binary() -> Path:
    """The server binary inside the installed pylibseekdb package."""
    spec = importlib.util.find_spec("pylibseekdb")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("conformance: pylibseekdb is not installed (make conformance installs it)")
    binary = Path(list(spec.submodule_search_locations)[0]) / "seekdb"
    if not os.access(binary, os.X_OK):
        sys.exit(f"conformance: {binary} is missing or not executable")
    return binary


def die_with_parent() -> None:
    """In the child: SIGKILL when this runner dies, so seekdb never outlives it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def start_seekdb(base_dir: Path) -> subprocess.Popen:
    """`seekdb --nodaemon` on SEEKDB_PORT with its output in base_dir/seekdb.out."""
    output = open(base_dir / "seekdb.out", "wb")
    with output:
        return subprocess.Popen(
            [str(seekdb_binary()), "--nodaemon", "--port", str(SEEKDB_PORT),
             "--base-dir", str(base_dir)], stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a text file, or a note that it is missing."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def seekdb_output(base_dir: Path) -> str:
    """seekdb's stdout/stderr and the tail of its log, for a failure message."""
    return (f"--- seekdb output ({base_dir / 'seekdb.out'}):\n{tail(base_dir / 'seekdb.out', 200)}"
            f"\n--- last {LOG_TAIL_LINES} lines of log/seekdb.log:\n"
            f"{tail(base_dir / 'log' / 'seekdb.log', LOG_TAIL_LINES)}")


def wait_ready(process: subprocess.Popen, base_dir: Path) -> tuple[str, str]:
    """Poll until seekdb accepts root; return (version(), ob_version())."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SeekdbFailed(f"seekdb exited with status {process.returncode} before "
                               f"accepting connections\n{seekdb_output(base_dir)}")
        try:
            conn = pymysql.connect(host=SEEKDB_HOST, port=SEEKDB_PORT, user="root", password="",
                                   connect_timeout=2, ssl_disabled=True)
        except (pymysql.err.MySQLError, OSError):  # still booting
            time.sleep(0.2)
            continue
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT version(), ob_version()")
            return cursor.fetchone()
    raise SeekdbFailed(f"seekdb accepted no connection within {START_DEADLINE_S:.0f} s\n"
                       f"{seekdb_output(base_dir)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM by pid, SIGKILL after STOP_GRACE_S."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print(f"conformance: seekdb (pid {process.pid}) stopped", flush=True)


def run_suite(pytest_args: list[str]) -> int:
    """The shared suite against seekdb, then obemu."""
    env = {**os.environ, "OBSCALE_SEEKDB_ADDR": f"{SEEKDB_HOST}:{SEEKDB_PORT}"}
    env.setdefault(TARGET_ENV, "seekdb,obemu")
    command = [sys.executable, "-m", "pytest", "tests/conformance", "-p", "no:cacheprovider",
               *pytest_args]
    return subprocess.call(command, cwd=REPO, env=env)


def terminate(signum: int, _frame) -> None:
    """SIGTERM/SIGHUP end the run through the normal clean-up."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    if os.environ.get(IN_NAMESPACE_ENV) != "1":
        enter_namespace(argv)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    set_up_network()
    base_dir = Path(tempfile.mkdtemp(prefix="obscale-seekdb-"))
    process = start_seekdb(base_dir)
    print(f"conformance: seekdb pid {process.pid}, base dir {base_dir}", flush=True)
    try:
        version, ob_version = wait_ready(process, base_dir)
        print(f"conformance: seekdb version() = {version}, ob_version() = {ob_version} "
              f"(pylibseekdb {importlib.metadata.version('pylibseekdb')})", flush=True)
        return run_suite(argv)
    except SeekdbFailed as failure:
        print(f"conformance: FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop(process)
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
