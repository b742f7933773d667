"""Target stage 'Start observer': launch once, then the health check (spec/scale-out.md §4.5-4.6)."""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from app.ob import observer
from app.process import procfs
from app.dag.template import TaskFailed
from app.scaleout.steps import wait
from app.scaleout.target import observer_log_tail

# How long one run of the task watches a signalled observer before it Waits and checks later.
STOP_CHECK_S = 0.5
# After SIGKILL: a process in uninterruptible sleep (D state) may take a moment to go.
KILL_GRACE_S = 10.0


def start_budget_s(ctx) -> float:
    """This stage's budget: the coordinator's timeouts.start_s, else OBSERVER_START_TIMEOUT_S."""
    return float((ctx.params.get("timeouts") or {}).get("start_s")
                 or ctx.config["OBSERVER_START_TIMEOUT_S"])


def stop_budget_s(config) -> float:
    """The rollback's budget: SIGTERM's OBSERVER_STOP_TIMEOUT_S, then SIGKILL's grace."""
    return float(config["OBSERVER_STOP_TIMEOUT_S"]) + KILL_GRACE_S


def _budget_note(ctx) -> str:
    return f"{int(ctx.waited_s())} s"


def start_observer(ctx) -> None:
    """Launch the observer unless one from this home is alive, then check it until healthy."""
    home, ip = ctx.config["HOME"], ctx.config["IP"]
    params = ctx.params
    pid = observer.live_observer_pid(home)
    if pid is None:
        if ctx.local.get("launched"):
            pid = _launched_pid(ctx, home)
        else:
            pid = _launch(ctx, home, ip, params)
    _health_check(ctx, home, ip, pid, int(params["obConfigs"]["mysql_port"]))


def _launched_pid(ctx, home: str) -> int:
    """After our launch: the pid file's process, or a wait until the daemon writes it."""
    pid = observer.read_pid(home)
    if pid is None:
        wait(ctx, "health:pid", f"waiting: the observer has not written {observer.pid_file(home)} "
             f"yet ({_budget_note(ctx)})")
    tail = observer_log_tail(home)
    raise TaskFailed(f"observer process {pid} exited during start"
                     + (f"; observer.log: {tail}" if tail else ""))


def _launch(ctx, home: str, ip: str, params: dict) -> int:
    argv = observer.build_command(home, ip, params["obConfigs"], params["dirs"])
    ctx.log("starting: " + " ".join(argv))
    try:
        code, output = observer.launch(home, argv, timeout_s=start_budget_s(ctx))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TaskFailed(f"cannot run {argv[0]}: {type(exc).__name__}: {exc}") from None
    ctx.log(f"observer launcher exited with code {code}" + (f": {output}" if output else ""))
    if code != 0:
        raise TaskFailed(f"observer failed to start (exit code {code})" + (f": {output}" if output else ""))
    ctx.set_local("launched", True)
    pid = observer.read_pid(home)
    if pid is None:
        wait(ctx, "health:pid", f"waiting: the observer has not written {observer.pid_file(home)} yet")
    return pid


def _health_check(ctx, home: str, ip: str, pid: int, mysql_port: int) -> None:
    if not procfs.alive(pid):
        tail = observer_log_tail(home)
        raise TaskFailed(f"observer process {pid} is gone" + (f"; observer.log: {tail}" if tail else ""))
    data_dir = Path(ctx.params["dirs"]["data_dir"])
    if not (data_dir / "sstable" / "block_file").exists():
        wait(ctx, "health:block_file", f"waiting: {data_dir}/sstable/block_file does not exist "
             f"yet ({_budget_note(ctx)})")
    if not observer.serves_mysql(ip, mysql_port, float(ctx.config["OB_CONNECT_TIMEOUT_S"])):
        wait(ctx, "health:mysql", f"waiting: observer pid {pid} does not answer MySQL on "
             f"{ip}:{mysql_port} ({_budget_note(ctx)})")
    ctx.log(f"observer pid {pid} is alive and serves MySQL on {ip}:{mysql_port}")


def prepare_retry(ctx) -> None:
    """Before a RETRY: stop an observer of ours that is alive but failed its health check."""
    pid = observer.live_observer_pid(ctx.config["HOME"])
    if pid is not None:
        _stop_step(ctx, pid)
        ctx.log(f"stopped observer pid {pid} before retrying")
    ctx.set_local("launched", False)


def stop_observer(ctx) -> None:
    """Rollback: stop the observer started from this home (SIGTERM, then SIGKILL)."""
    pid = observer.live_observer_pid(ctx.config["HOME"])
    if pid is None:
        ctx.log("no observer from this home is running")
        return
    _stop_step(ctx, pid)
    ctx.log(f"stopped observer pid {pid}")


def _stop_step(ctx, pid: int) -> None:
    """One short step of stopping our observer pid; Wait while it is still stopping.

    The first step sends SIGTERM; a step after OBSERVER_STOP_TIMEOUT_S of waiting sends
    SIGKILL. Each step then checks for at most STOP_CHECK_S, so no run of the task sleeps long.
    """
    budget = float(ctx.config["OBSERVER_STOP_TIMEOUT_S"])
    if ctx.local.get("stopping_pid") != pid:
        observer.send_signal(pid, signal.SIGTERM)
        ctx.set_local("stopping_pid", pid)
        ctx.log(f"sent SIGTERM to observer pid {pid}")
    elif ctx.waited_s() >= budget:
        observer.send_signal(pid, signal.SIGKILL)
        ctx.log_change(f"stop:{pid}:kill", f"observer pid {pid} ignored SIGTERM for {budget:g} s; "
                       "sent SIGKILL")
    if observer.wait_gone(pid, STOP_CHECK_S):
        return
    wait(ctx, f"stop:{pid}", f"waiting: observer pid {pid} is stopping "
         f"({int(ctx.waited_s())} s of {budget:g} s before SIGKILL)")
