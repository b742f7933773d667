"""app.process.procfs against real processes: odd names, zombies, argv, cwd, descendants."""
import os
import signal
import subprocess
import sys

import pytest

from app.process import procfs
from tests.support.polling import wait_until

ODD_NAME = "a) b (c"  # spaces and parentheses, as a process may call itself
RENAME_AND_WAIT = ("import ctypes, sys; ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0);"
                   " print('ready', flush=True); sys.stdin.read()")


@pytest.fixture
def child(tmp_path):
    """A python child in tmp_path that renames itself to ODD_NAME and waits on stdin."""
    with subprocess.Popen([sys.executable, "-c", RENAME_AND_WAIT, ODD_NAME], cwd=tmp_path,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline() == "ready\n"
        yield process
        if process.poll() is None:
            process.kill()


def test_stat_reads_a_name_with_spaces_and_parentheses(child):
    found = procfs.stat(child.pid)
    assert found.name == ODD_NAME
    assert found.state in ("S", "R") and found.ppid == os.getpid()
    assert found.start_ticks == procfs.start_ticks(child.pid) > 0


def test_parse_stat_takes_the_last_closing_parenthesis():
    fields = " ".join(["S", "1", *map(str, range(17)), "4242", "0"])
    assert procfs.parse_stat(f"77 (x) (y z) {fields}") == procfs.Stat("x) (y z", "S", 1, 4242)
    assert procfs.parse_stat("77 no parentheses") is None
    assert procfs.parse_stat("77 (x) S") is None


def test_a_zombie_is_not_alive_and_a_reaped_pid_is_gone(child):
    assert procfs.alive(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    wait_until(lambda: procfs.stat(child.pid).state == "Z", what="the child to be a zombie")
    assert not procfs.alive(child.pid)
    child.wait()
    assert procfs.stat(child.pid) is None and not procfs.alive(child.pid)
    assert procfs.cmdline(child.pid) == [] and procfs.cwd(child.pid) is None


def test_cmdline_cwd_and_descendants(child, tmp_path):
    assert procfs.cmdline(child.pid) == [sys.executable, "-c", RENAME_AND_WAIT, ODD_NAME]
    assert procfs.cwd(child.pid) == os.path.realpath(tmp_path)
    assert child.pid in procfs.descendants(os.getpid())
    assert procfs.descendants(child.pid) == []


@pytest.mark.parametrize("pid", [0, -1, None])
def test_no_pid_is_not_alive(pid):
    assert not procfs.alive(pid)
