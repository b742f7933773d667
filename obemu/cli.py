"""`obemu`: admin CLI for an emulated cluster's state file (bootstrap, status, fault, reset)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from obemu import admin

STATUS_COLUMNS = {
    "servers": ["SVR_IP", "SVR_PORT", "ID", "ZONE", "SQL_PORT", "WITH_ROOTSERVER", "STATUS",
                "START_SERVICE_TIME", "STOP_TIME"],
    "zones": ["ZONE", "STATUS", "REGION", "IDC", "TYPE"],
    "processes": ["ip", "rpc_port", "sql_port", "zone", "pid", "alive", "heartbeat_age_s",
                  "faults"],
    "faults": ["id", "svr_ip", "svr_port", "kind", "arg"],
    "statements": ["id", "time", "node", "code", "sql"],
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obemu", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def sub(name: str, help_text: str, target=commands) -> argparse.ArgumentParser:
        command = target.add_parser(name, help=help_text)
        command.add_argument("--state", default=os.environ.get("OBEMU_STATE"),
                             help="state file (default: $OBEMU_STATE)")
        return command

    boot = sub("bootstrap", "BOOTSTRAP a node over MySQL, then set root's password")
    boot.add_argument("--server", required=True, help="ip:rpc_port of a registered node")
    boot.add_argument("--zone", required=True)
    boot.add_argument("--region")
    boot.add_argument("--password", default="")
    status = sub("status", "servers, zones, processes, faults and ALTER statements")
    status.add_argument("--json", action="store_true")
    fault = commands.add_parser("fault", help="add or clear emu_faults rows")
    faults = fault.add_subparsers(dest="fault_command", required=True)
    add = sub("add", "add a fault, e.g. sql_error:^ALTER SYSTEM ADD SERVER:4017", faults)
    add.add_argument("--server", default="*", help="ip:rpc_port, ip, or * (default)")
    add.add_argument("fault")
    clear = sub("clear", "remove faults (all unless filtered)", faults)
    clear.add_argument("--server")
    clear.add_argument("--kind")
    unit = commands.add_parser("unit", help="add or remove tenant units (DBA_OB_UNITS)")
    units = unit.add_subparsers(dest="unit_command", required=True)
    unit_add = sub("add", "add a unit in a zone, on its first server", units)
    unit_add.add_argument("--zone", required=True)
    unit_add.add_argument("--tenant", type=int, default=1001)
    unit_clear = sub("clear", "remove units (all but the sys tenant's unless --tenant 1)", units)
    unit_clear.add_argument("--zone")
    unit_clear.add_argument("--tenant", type=int)
    sub("reset", "delete the state file (refused while registered processes run)")
    return parser


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[("" if row.get(col) is None else str(row.get(col))) for col in columns]
             for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _status(state: Path, as_json: bool) -> int:
    result = admin.status(state)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"state: {result['state']}  bootstrapped: {result['bootstrapped']}")
    for section, columns in STATUS_COLUMNS.items():
        print(f"\n{section}:\n{_table(result[section], columns)}")
    return 0


def _bootstrap(state: Path, options: argparse.Namespace) -> int:
    from obemu.client import bootstrap
    ip, port = admin.split_server(options.server)
    sql_port = admin.sql_port_of(state, ip, int(port)) if port.isdigit() else None
    if sql_port is None:
        print(f"obemu: no registered node {options.server} in {state}", file=sys.stderr)
        return 1
    bootstrap(ip, sql_port, int(port), options.zone, options.password, options.region)
    print(f"bootstrapped {options.server} in zone {options.zone}")
    return 0


def _fault(state: Path, options: argparse.Namespace) -> int:
    if options.fault_command == "add":
        try:
            row = admin.add_fault(state, options.server, options.fault)
        except ValueError as error:
            print(f"obemu: {error}", file=sys.stderr)
            return 2
        print(f"fault {row} added: {options.server} {options.fault}")
        return 0
    count = admin.clear_faults(state, options.server, options.kind)
    print(f"{count} fault(s) cleared")
    return 0


def _unit(state: Path, options: argparse.Namespace) -> int:
    if options.unit_command == "add":
        try:
            unit_id = admin.add_unit(state, options.zone, options.tenant)
        except ValueError as error:
            print(f"obemu: {error}", file=sys.stderr)
            return 2
        print(f"unit {unit_id} of tenant {options.tenant} added in zone {options.zone}")
        return 0
    count = admin.remove_units(state, options.zone, options.tenant)
    print(f"{count} unit(s) removed")
    return 0


def _reset(state: Path) -> int:
    live = admin.live_processes(state) if state.exists() else []
    if live:
        names = ", ".join(f"{p['ip']}:{p['rpc_port']} (pid {p['pid']})" for p in live)
        print(f"obemu: refusing to reset, processes still run: {names}", file=sys.stderr)
        return 1
    admin.remove_state(state)
    print(f"removed {state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `obemu`."""
    options = _parser().parse_args(argv)
    if not options.state:
        print("obemu: --state is required (or set OBEMU_STATE)", file=sys.stderr)
        return 2
    state = Path(options.state)
    if options.command != "reset" and options.command != "fault" and not state.exists():
        print(f"obemu: no state file {state}", file=sys.stderr)
        return 1
    handlers = {
        "bootstrap": lambda: _bootstrap(state, options),
        "status": lambda: _status(state, options.json),
        "fault": lambda: _fault(state, options),
        "unit": lambda: _unit(state, options),
        "reset": lambda: _reset(state),
    }
    return handlers[options.command]()


if __name__ == "__main__":
    sys.exit(main())
