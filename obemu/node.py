"""What a running node does for its SQL sessions: faults, ALTER dispatch, reads, the log."""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import tzinfo

from obemu import parameters, servers, users, zones
from obemu.config import NodeConfig, format_addr
from obemu.constants import MICROSECONDS, RPC_PROBE_TIMEOUT_S
from obemu.errors import RPC_CONNECT_ERROR, ObError, ob_error, parse_error, query_timeout_error
from obemu.faults import Fault, FaultSet, parse_faults, table_faults
from obemu.grammar import Command, mask_secrets, parse_alter
from obemu.liveness import refresh
from obemu.sql import timezone as tz
from obemu.sql.catalog import tables_path
from obemu.sql.store import TablesStore
from obemu.state import StateStore

logger = logging.getLogger(__name__)

RE_TIME_VALUE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
RE_NO_TABLE = re.compile(r"no such table: (?:\w+\.)?(?P<table>[\w$]+)")
RE_NO_COLUMN = re.compile(r"no such column: (?P<column>[\w$.]+)")
RE_ALTER = re.compile(r"^ALTER\b", re.I)
SESSION_KILLED = 3169
# How emu_statements marks the outcome of a statement whose session had already answered 4012:
# `late: applied (...)` with code 0 is an effect that landed; the 4012 row is only the answer.
LATE_PREFIX = "late: "
AFTER_TIMEOUT = "after its session answered 4012"

EXECUTORS = {
    "bootstrap": lambda store, cmd: servers.bootstrap(store, cmd.groups),
    "add_zone": lambda store, cmd: zones.add_zone(store, cmd.zone, cmd.options),
    "start_zone": lambda store, cmd: zones.start_zone(store, cmd.zone),
    "stop_zone": lambda store, cmd: zones.stop_zone(store, cmd.zone),
    "delete_zone": lambda store, cmd: zones.delete_zone(store, cmd.zone),
    "add_server": lambda store, cmd: servers.add_servers(store, cmd.addrs, cmd.zone),
    "delete_server": lambda store, cmd: servers.delete_servers(store, cmd.addrs, cmd.zone),
    "cancel_delete_server": lambda store, cmd: servers.cancel_delete_servers(
        store, cmd.addrs, cmd.zone),
    "start_server": lambda store, cmd: servers.set_stop_time(store, cmd.addrs, cmd.zone, False),
    "stop_server": lambda store, cmd: servers.set_stop_time(store, cmd.addrs, cmd.zone, True),
    "set_parameters": lambda store, cmd: servers.set_parameters(store, cmd.params, cmd.scope),
    "alter_user": lambda store, cmd: servers.set_root_password(store, cmd.password or ""),
}


async def rpc_reachable(ip: str, port: int, timeout: float = RPC_PROBE_TIMEOUT_S) -> bool:
    """ADD SERVER's probe: a TCP connect to the RPC port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


def _to_client_value(value, zone: tzinfo):
    """Stored UTC times reach clients as datetimes in the session's time zone."""
    if isinstance(value, str) and RE_TIME_VALUE.match(value):
        return tz.from_utc_text(value, zone)
    return value


def _select_error(error: sqlite3.Error, statement: str) -> ObError:
    text = str(error)
    if match := RE_NO_TABLE.search(text):
        return ob_error(1146, db="oceanbase", table=match["table"])
    if match := RE_NO_COLUMN.search(text):
        return ob_error(1054, column=match["column"], where="field list")
    return parse_error(statement)


class Node:
    """One node's view of the cluster, shared by its SQL sessions (single event loop)."""

    def __init__(self, cfg: NodeConfig, store: StateStore, lease_s: float, delete_delay_s: float):
        self.cfg = cfg
        self.store = store
        self.lease_s = lease_s
        self.delete_delay_s = delete_delay_s
        self.env_faults = parse_faults(cfg.knobs.faults)
        self.stopping = asyncio.Event()
        self.active_statements = 0
        self.late_statements: set[asyncio.Task] = set()
        self.tables = TablesStore(tables_path(cfg.state_path))

    def faults(self) -> FaultSet:
        """Faults in force now: this process's environment plus matching emu_faults rows."""
        rows = self.store.table_faults(self.cfg.ip, self.cfg.rpc_port)
        return FaultSet(self.env_faults + table_faults(rows))

    def root_auth(self) -> str:
        """Root's stored native-password hash: '' (empty password) until this node is a member."""
        if not self.store.is_member(self.cfg.ip, self.cfg.rpc_port):
            return ""
        return self.store.meta("root_auth") or ""

    def user_auth(self, name: str) -> str | None:
        """The password hash of a user root created, None when there is none."""
        return users.user_auth(self.store, name)

    def manage_user(self, statement: str, current_user: str) -> None:
        users.manage(self.store, statement, current_user)

    def show_parameters(self, rest: str) -> tuple[list, list[str]]:
        return parameters.show(self.store, rest)

    async def apply_statement_faults(self, statement: str, query_timeout_us: int,
                                     lands_late: bool = False) -> None:
        """`hang` waits (without blocking other connections), then `sql_error` fails.

        A hang that outlasts the session's ob_query_timeout answers 4012 at the timeout. A
        statement that RootService runs (`lands_late`: ALTER SYSTEM, ALTER USER) still takes
        effect when the hang ends, as RootService goes on after the client's timeout; any other
        statement is cancelled. The late outcome is recorded as its own emu_statements row.
        """
        faults = self.faults()
        hang = faults.matching("hang", statement)
        failure = faults.matching("sql_error", statement)
        if hang:
            # Logged before the wait: tests watch for this line to know a statement is held.
            logger.info("hang fault %r: holding a statement for %s s", hang.pattern, hang.number)
            timeout_s = query_timeout_us / MICROSECONDS
            if 0 < timeout_s < hang.number:
                if lands_late:
                    self._finish_later(statement, hang.number, failure)
                await self._sleep_unless_stopping(timeout_s)
                raise query_timeout_error(query_timeout_us)
            await self._sleep_unless_stopping(hang.number)
        if failure:
            raise ob_error(int(failure.number))

    def _finish_later(self, statement: str, hang_s: float, failure: Fault | None) -> None:
        task = asyncio.get_running_loop().create_task(
            self._finish_late(statement, hang_s, failure))
        self.late_statements.add(task)  # a reference, so the task is not collected midway
        task.add_done_callback(self.late_statements.discard)

    async def _finish_late(self, statement: str, hang_s: float, failure: Fault | None) -> None:
        """The rest of a statement whose session already answered 4012: its effect or error."""
        self.active_statements += 1
        try:
            await self._sleep_unless_stopping(hang_s)
            if failure:
                raise ob_error(int(failure.number))
            await self.alter(statement)
        except ObError as error:
            self.record(statement, error.code, f"{LATE_PREFIX}{error.message} ({AFTER_TIMEOUT})")
        except Exception:  # noqa: BLE001 - a fault of obemu itself; nobody waits for an answer
            logger.exception("late statement failed inside obemu: %s", mask_secrets(statement)[:200])
        else:
            self.record(statement, 0, f"{LATE_PREFIX}applied ({AFTER_TIMEOUT})")
        finally:
            self.active_statements -= 1

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise ObError(SESSION_KILLED, "Session was killed")

    async def drain_statements(self, timeout: float) -> None:
        """Wake statements that wait (hang) so they answer 3169, then let them finish."""
        self.stopping.set()
        deadline = asyncio.get_running_loop().time() + timeout
        while self.active_statements and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    def refresh(self) -> None:
        refresh(self.store, self.lease_s, self.delete_delay_s)

    def select(self, statement: str, cluster_view: bool, zone: tzinfo
               ) -> tuple[list, list[str]]:
        """Run a SELECT on SQLite as sent; time text becomes datetime in the session's zone."""
        try:
            if cluster_view:
                self.refresh()
        except sqlite3.OperationalError:
            logger.exception("liveness refresh failed")
            raise ob_error(4012) from None
        try:
            cursor = self.store.conn.execute(statement)
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            raise _select_error(error, statement) from None
        columns = [d[0] for d in cursor.description or ()]
        return [tuple(_to_client_value(v, zone) for v in row) for row in rows], columns

    async def _probe(self, addrs: list[tuple[str, int]]) -> None:
        for ip, port in addrs:
            if not await rpc_reachable(ip, port):
                raise ob_error(RPC_CONNECT_ERROR, addr=format_addr(ip, port))

    async def alter(self, statement: str) -> None:
        """Parse and run one ALTER statement; ObError on refusal."""
        command: Command = parse_alter(statement)
        if command.action == "add_server":
            await self._probe(command.addrs)
        elif command.action == "bootstrap":
            await self._probe([(ip, port) for _, _, ip, port in command.groups])
        try:
            EXECUTORS[command.action](self.store, command)
        except sqlite3.OperationalError:
            logger.exception("state write failed: %s", mask_secrets(statement))
            raise ob_error(4012) from None

    def record(self, statement: str, code: int, message: str) -> None:
        """Keep every ALTER statement (password masked) with its result in emu_statements."""
        if not RE_ALTER.match(statement):
            return
        masked = mask_secrets(statement)
        logger.info("statement from %s: %s -> %s %s", self.cfg.addr, masked, code, message)
        try:
            self.store.record_statement(self.cfg.addr, masked, code, message)
        except sqlite3.Error:
            logger.exception("could not record statement %s", masked)
