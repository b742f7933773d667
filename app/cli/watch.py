"""Live progress of a DAG: redrawn in place on a terminal, one line per change otherwise."""
from __future__ import annotations

import shutil
import sys
import time
from typing import Any, Collection

import click

from app.cli.render import (current_node, elapsed_seconds, final_report, latest_log, outcome,
                            progress_line)
from app.cli.client import EXIT_FAILED, Session

POLL_S = 0.25
UNREACHABLE_BUDGET_S = 30.0
SCALE_OUT_DONE = ("succeeded", "passed")


def fetch_dag(session: Session, dag_id: str, retry_s: float = 0.0) -> dict[str, Any]:
    """GET /api/v1/task/dag/<id> with details."""
    return session.call("GET", f"/api/v1/task/dag/{dag_id}", query={"show_details": "true"},
                        retry_s=retry_s)


def watch_command(dag_id: str, session: Session) -> str:
    """The `obscale dag watch` command line for this DAG."""
    extra = f" --password-env {session.password_env}" if session.password_env else ""
    return f"obscale dag watch {dag_id} --agent {session.agent}{extra}"


class _Printer:
    """Draws progress lines: in place on a TTY, only changed lines elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.drawn = False
        self.last_key: tuple = ()

    def show(self, line: str, key: tuple) -> None:
        if self.tty:
            width = max(shutil.get_terminal_size().columns - 1, 20)
            click.echo("\r\x1b[K" + line[:width], nl=False)
            self.drawn = True
        elif key != self.last_key:
            click.echo(line)
        self.last_key = key

    def finish(self) -> None:
        if self.drawn:
            click.echo()
            self.drawn = False


def _key(dag: dict[str, Any]) -> tuple:
    node = current_node(dag) or {}
    return (dag.get("state"), dag.get("operator"), dag.get("stage"), node.get("name"),
            latest_log(node))


def _follow(session: Session, dag_id: str, printer: _Printer, poll_s: float) -> dict[str, Any]:
    started = time.monotonic()
    while True:
        dag = fetch_dag(session, dag_id, retry_s=UNREACHABLE_BUDGET_S)
        elapsed = elapsed_seconds(dag)
        printer.show(progress_line(dag, time.monotonic() - started if elapsed is None else elapsed),
                     _key(dag))
        if outcome(dag) != "running":
            return dag
        time.sleep(poll_s)


def watch(session: Session, dag_id: str, expected: Collection[str] = SCALE_OUT_DONE,
          poll_s: float = POLL_S) -> int:
    """Follow a DAG to its end and report it; 0 when it ended as expected, 1 otherwise."""
    printer = _Printer()
    try:
        dag = _follow(session, dag_id, printer, poll_s)
    except KeyboardInterrupt:
        printer.finish()
        click.echo(f"stopped watching; the DAG goes on. Watch it again: "
                   f"{watch_command(dag_id, session)}", err=True)
        raise SystemExit(130) from None
    printer.finish()
    for line in final_report(dag, session.agent, session.password_env):
        click.echo(line)
    return 0 if outcome(dag) in expected else EXIT_FAILED
