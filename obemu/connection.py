"""mysql-mimic's server and connection with what clients of a real observer read from packets.

The handshake carries the bare MySQL version, as a real observer's does. A database named at
login that does not exist is 1049 in place of the login's OK packet. The OK packet carries the
statement's affected rows and insert id (PyMySQL's rowcount and lastrowid), and every packet's status flags say whether autocommit is on and a transaction is
open (PyMySQL's get_autocommit() reads them, so it sends no SET autocommit a server does not
need). CLIENT_FOUND_ROWS is offered, so a client that asks for it gets matched-row counts.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Callable

from mysql_mimic import MysqlServer
from mysql_mimic.connection import Connection
from mysql_mimic.constants import DEFAULT_SERVER_CAPABILITIES
from mysql_mimic.control import TooManyConnections
from mysql_mimic.errors import ErrorCode
from mysql_mimic.stream import MysqlStream
from mysql_mimic.types import Capabilities, ServerStatus

from obemu.auth import peer_host
from obemu.constants import HANDSHAKE_VERSION
from obemu.errors import ob_error

logger = logging.getLogger(__name__)
SERVER_CAPABILITIES = (DEFAULT_SERVER_CAPABILITIES | Capabilities.CLIENT_FOUND_ROWS
                       | Capabilities.CLIENT_TRANSACTIONS)


OK_HEADER = 0x00


class ObConnection(Connection):
    """A client connection whose OK packets and status flags come from its ObSession."""

    refused = False
    _full_version = ""

    async def connection_phase(self) -> None:
        variables = self.session.variables
        version = self._full_version = variables.get("version")
        variables.set("version", HANDSHAKE_VERSION, force=True)
        assert isinstance(self.stream, LoginStream)
        self.stream.rewrite = self._login_answer
        try:
            await super().connection_phase()
        finally:
            self.stream.rewrite = None
            variables.set("version", version, force=True)

    def _login_answer(self, packet: bytes) -> bytes:
        """Each packet of the login: once the handshake is built, version() gets its full text
        back; the OK of a successful login becomes 1049 when the database the client named is
        unknown (authentication comes first, as in MySQL)."""
        self.session.variables.set("version", self._full_version, force=True)
        database = self.session.database
        if (packet[:1] == bytes([OK_HEADER]) and database
                and not self.session.knows_database(database)):
            self.refused = True
            return self.error(msg=ob_error(1049, db=database).message, code=1049)
        return packet

    async def command_phase(self) -> None:
        if not self.refused:
            await super().command_phase()

    @property  # type: ignore[override]
    def status_flags(self) -> ServerStatus:
        flags = ServerStatus(0)
        if self.session.variables.get("autocommit"):
            flags |= ServerStatus.SERVER_STATUS_AUTOCOMMIT
        if self.session.sql.txn.explicit or self.session.sql.txn.locked:
            flags |= ServerStatus.SERVER_STATUS_IN_TRANS
        return flags

    @status_flags.setter
    def status_flags(self, value: ServerStatus) -> None:
        """Ignored: the flags are derived from the session."""

    def ok(self, **kwargs) -> bytes:
        outcome = self.session.take_outcome()
        kwargs.setdefault("affected_rows", outcome.affected)
        kwargs.setdefault("last_insert_id", outcome.insert_id)
        return super().ok(**kwargs)

    @property
    def found_rows(self) -> bool:
        return Capabilities.CLIENT_FOUND_ROWS in self.capabilities


class LoginStream:
    """mysql-mimic's stream (a compiled class, so wrapped rather than subclassed), whose
    packets can be rewritten while the login runs."""

    def __init__(self, stream: MysqlStream) -> None:
        self._stream = stream
        self.rewrite: Callable[[bytes], bytes] | None = None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    async def write(self, data: bytes, drain: bool = True) -> None:
        if self.rewrite is not None:
            data = self.rewrite(data)
        await self._stream.write(data, drain)


class ObMysqlServer(MysqlServer):
    """Builds ObConnections and remembers each client's address for the 1045 message."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("capabilities", SERVER_CAPABILITIES)
        super().__init__(**kwargs)

    async def _client_connected_cb(self, reader: asyncio.StreamReader,
                                   writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        peer_host.set(peer[0] if peer else "")
        stream = LoginStream(MysqlStream(reader, writer))
        session = self.session_factory()
        if inspect.isawaitable(session):
            session = await session
        connection = ObConnection(stream=stream, session=session, control=self.control,
                                  server_capabilities=self.capabilities,
                                  identity_provider=self.identity_provider, ssl=self.ssl)
        try:
            connection.connection_id = await self.control.add(connection)
        except TooManyConnections:
            await stream.write(connection.error(msg="Too many connections",
                                                code=ErrorCode.CON_COUNT_ERROR))
            return
        try:
            await connection.start()
        finally:
            writer.close()
            await self.control.remove(connection.connection_id)
