"""`obemu-observer`: the emulated observer process (real flags, §2 and §3).

Only the stdlib is imported before the arguments are parsed, so -V and --help stay fast.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from obemu import args, dependency_problem
from obemu.constants import DEFAULT_VERSION, EXIT_CRASH, version_block

logger = logging.getLogger(__name__)


def _print_ready(cfg) -> None:
    from obemu.config import format_addr
    line = f"READY mysql={format_addr(cfg.ip, cfg.mysql_port)} rpc={cfg.addr} pid={os.getpid()}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _crash_on_start(cfg) -> bool:
    """Whether crash_on_start is set for this node (environment or emu_faults)."""
    from obemu.faults import FaultSet, parse_faults, table_faults
    from obemu.state import StateStore
    faults = parse_faults(cfg.knobs.faults)
    store = StateStore(cfg.state_path)
    try:
        faults += table_faults(store.table_faults(cfg.ip, cfg.rpc_port))
    finally:
        store.close()
    return FaultSet(faults).has("crash_on_start")


def _prepare(options: args.Options):
    """Resolve the config and bind both ports (before daemonising); exits 1 on refusal."""
    from obemu.process import BindError, bind_ports
    from obemu.resolve import ConfigError, resolve
    try:
        cfg = resolve(options, os.environ, Path.cwd())
        return cfg, bind_ports(cfg.ip, cfg.mysql_port, cfg.rpc_port)
    except (ConfigError, BindError) as error:
        sys.stderr.write(f"{error}\n")
        raise SystemExit(1) from None


def _boot(cfg) -> None:
    """Home layout, pid file, log; tells the launcher; crash_on_start; data dir."""
    from obemu import process
    notify = None if cfg.nodaemon else process.daemonize(cfg.home)
    os.chdir(cfg.home)
    process.prepare_home(cfg.home)
    process.setup_logging(cfg.home)
    logger.info("observer starting: pid=%s home=%s state=%s", os.getpid(), cfg.home,
                cfg.state_path)
    if notify:
        notify()
    if _crash_on_start(cfg):
        logger.error("crash_on_start: observer start failed")
        sys.stderr.write("[ERROR] observer start failed\n")
        sys.stderr.flush()
        os._exit(EXIT_CRASH)
    process.prepare_data_dir(cfg)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `obemu-observer`."""
    try:
        options = args.parse(sys.argv[1:] if argv is None else argv)
    except args.UsageExit as done:
        return int(done.code or 0)
    if options.show_version:
        sys.stderr.write(version_block(os.environ.get("OBEMU_VERSION") or DEFAULT_VERSION))
        return 0
    problem = dependency_problem()
    if problem:
        sys.stderr.write(f"obemu-observer: {problem}\n")
        return 1
    cfg, (mysql_sock, rpc_sock) = _prepare(options)
    _boot(cfg)
    import asyncio
    from obemu.process import remove_pid_file
    from obemu.runtime import ObserverRuntime
    runtime = ObserverRuntime(
        cfg, mysql_sock, rpc_sock, install_signals=True,
        on_ready=(lambda: _print_ready(cfg)) if cfg.nodaemon else None,
        on_crash=lambda: os._exit(EXIT_CRASH))
    asyncio.run(runtime.run())
    remove_pid_file(cfg.home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
