"""The consumer's tie to the process that started it (app.process.worker.die_with_parent)."""
import os
import subprocess
import sys

PROGRAM = ("import sys; from app.process.worker import die_with_parent; "
           "die_with_parent(int(sys.argv[1]) if sys.argv[1:] else None); print('started')")


def _run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, *arguments], capture_output=True,
                          text=True, timeout=30)


def _gone_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_started_by_its_parent_it_starts():
    result = _run(str(os.getpid()))  # this test's process is the parent
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


def test_started_by_hand_it_starts():
    result = _run()
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


def test_its_parent_already_gone_it_does_not_start():
    gone = _gone_pid()
    result = _run(str(gone))
    assert result.returncode == 1
    assert (f"the process that started it (pid {gone}) is gone; the task consumer does not "
            "start") in result.stderr
    assert "started" not in result.stdout
