"""`obscale demo` (what `make demo` runs): a sandbox grows from one server to three, live, then
shrinks back to one (scale-in of both, and removal of the zone it created)."""
from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import click

from app.peer.client import AgentClient
from app.cli.render import sandbox_usage, table
from app.cli.client import EXIT_FAILED, Session
from app.cli.watch import watch

DEMO_CONFIGS = {"mysql_port": "2881", "rpc_port": "2882"}
NEW_ZONE = "zone2"
PASSWORD_ENV = "OB_ROOT_PASSWORD"  # named in the printed retry/rollback commands


def _scale_out(session: Session, target: Any, zone: str, new_zone: bool) -> int:
    kind = "a new zone" if new_zone else "the existing zone"
    click.echo(f"\n== scale out {target.ip}:{target.port} into {kind} {zone}")
    body = {"agentInfo": {"ip": target.ip, "port": target.port}, "zone": zone,
            "obConfigs": dict(DEMO_CONFIGS), "targetAgentPassword": ""}
    dag = session.call("POST", "/api/v1/ob/scale_out", body)
    click.echo(f"DAG {dag['id']} '{dag['name']}': {dag['max_stage']} stages")
    return watch(session, str(dag["id"]))


def _grow(sandbox: Any) -> int:
    session = _session(sandbox)
    zone = sandbox.cluster["zone"]
    for target, target_zone in zip(sandbox.spares, (zone, NEW_ZONE)):
        status = _scale_out(session, target, target_zone, target_zone != zone)
        if status != 0:
            return status
    return 0


def _session(sandbox: Any) -> Session:
    coordinator = sandbox.coordinator
    return Session(AgentClient(coordinator.ip, coordinator.port, timeout=15.0),
                   sandbox.root_password, PASSWORD_ENV)


def _shrink(sandbox: Any) -> int:
    """Scale both spares back in (the new zone's first), then remove the zone they made."""
    session = _session(sandbox)
    for target in reversed(sandbox.spares):
        click.echo(f"\n== scale in {target.ip}:{target.port}")
        dag = session.call("POST", "/api/v1/ob/scale_in",
                           {"agent_info": {"ip": target.ip, "port": target.port}})
        if dag is None:
            click.echo(f"{target.ip}:{target.port} is not in the cluster")
            continue
        click.echo(f"DAG {dag['id']} '{dag['name']}': {dag['max_stage']} stages")
        status = watch(session, str(dag["id"]))
        if status != 0:
            return status
    click.echo(f"\n== remove zone {NEW_ZONE}")
    dag = session.call("DELETE", f"/api/v1/zone/{NEW_ZONE}")
    click.echo(f"DAG {dag['id']} '{dag['name']}': {dag['max_stage']} stages")
    return watch(session, str(dag["id"]))


def _show_cluster(sandbox: Any) -> None:
    from app.sandbox.control import cluster_tables

    servers, zones = cluster_tables(sandbox)
    click.echo(f"\noceanbase.DBA_OB_SERVERS:\n{table(servers)}")
    click.echo(f"\noceanbase.DBA_OB_ZONES:\n{table(zones)}")
    click.echo(f"\nthe cluster has {len(servers)} servers in {len(zones)} zones")


def _run(directory: Path, base_ip: str, shrink: bool) -> tuple[int, Any]:
    from app.sandbox.up import up

    click.echo(f"starting a sandbox in {directory}")
    sandbox = up(directory, 2, base_ip, "zone1", report=click.echo)
    status = _grow(sandbox)
    _show_cluster(sandbox)
    if status == 0 and shrink:
        status = _shrink(sandbox)
        _show_cluster(sandbox)
        if status == 0:
            click.echo("scaled back in: three servers, then one; both spare agents are SINGLE "
                       "again and zone2 is gone")
    return status, sandbox


def _teardown(directory: Path) -> int:
    from app.sandbox import sandbox_file
    from app.sandbox.control import down

    if not sandbox_file(directory).exists():
        return 0
    report = down(directory)
    click.echo(f"\nsandbox stopped ({len(report.stopped)} processes)")
    if report.left:
        click.echo(f"could not stop pid(s) {', '.join(map(str, report.left))}", err=True)
        return EXIT_FAILED
    return 0


def _tidy(directory: Path, temporary: bool, status: int) -> None:
    """Remove a temporary folder, unless a failure left logs worth reading in it."""
    logs = directory / "logs"
    if status != 0 and logs.exists():
        click.echo(f"logs kept in {logs}", err=True)
    elif temporary:
        shutil.rmtree(directory, ignore_errors=True)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs the teardown in `finally`


@click.command()
@click.option("--keep", is_flag=True, help="Leave the sandbox running and print how to use it.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Sandbox folder (default: a new temporary folder).")
@click.option("--base-ip", default="127.0.0.1", show_default=True,
              help="First of the three loopback addresses the demo uses.")
def demo(keep: bool, directory: Path | None, base_ip: str) -> None:
    """Start a sandbox, scale one node into zone1 and one into a new zone2, show the cluster,
    then scale both back in and remove zone2 (with --keep: leave the three servers running)."""
    from app.sandbox import SandboxError

    temporary = directory is None
    directory = Path(tempfile.mkdtemp(prefix="obscale-demo-")) if directory is None else directory
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    status, sandbox = EXIT_FAILED, None
    try:
        status, sandbox = _run(directory.resolve(), base_ip, shrink=not keep)
    except (SandboxError, click.ClickException) as exc:
        click.echo(f"demo failed: {exc.message if hasattr(exc, 'message') else exc}", err=True)
    finally:
        if keep and sandbox is not None:
            click.echo("\nthe sandbox keeps running.")
            for line in sandbox_usage(sandbox.to_json()):
                click.echo(line)
        else:
            status = _teardown(directory.resolve()) or status
            _tidy(directory.resolve(), temporary, status)
        signal.signal(signal.SIGTERM, previous)
    raise SystemExit(status)


def register(group: click.Group) -> None:
    """Add the demo command."""
    group.add_command(demo)
