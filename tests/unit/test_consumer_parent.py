"""The consumer's tie to `obscale serve` (app.process.worker.die_with_serve)."""
import os
import subprocess
import sys

PROGRAM = "from app.process.worker import die_with_serve; die_with_serve(); print('started')"


def _run(serve_pid: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    if serve_pid is not None:
        env["OBSCALE_SERVE_PID"] = serve_pid
    return subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=30, env=env)


def test_started_by_its_serve_it_starts():
    result = _run(str(os.getpid()))  # this test's process is the parent
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


def test_started_by_hand_it_starts():
    result = _run(None)
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


def test_its_serve_already_gone_it_does_not_start():
    result = _run("1")  # not this test's pid: serve died before the consumer looked
    assert result.returncode == 1
    assert "obscale serve (pid 1) is gone; the task consumer does not start" in result.stderr
    assert "started" not in result.stdout
