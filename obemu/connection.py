"""mysql-mimic's server and connection with what clients of a real observer read from packets.

The OK packet carries the statement's affected rows and insert id (PyMySQL's rowcount and
lastrowid), and every packet's status flags say whether autocommit is on and a transaction is
open (PyMySQL's get_autocommit() reads them, so it sends no SET autocommit a server does not
need). CLIENT_FOUND_ROWS is offered, so a client that asks for it gets matched-row counts.
"""
from __future__ import annotations

import asyncio
import inspect
import logging

from mysql_mimic import MysqlServer
from mysql_mimic.connection import Connection
from mysql_mimic.constants import DEFAULT_SERVER_CAPABILITIES
from mysql_mimic.control import TooManyConnections
from mysql_mimic.errors import ErrorCode
from mysql_mimic.stream import MysqlStream
from mysql_mimic.types import Capabilities, ServerStatus

from obemu.auth import peer_host

logger = logging.getLogger(__name__)
SERVER_CAPABILITIES = (DEFAULT_SERVER_CAPABILITIES | Capabilities.CLIENT_FOUND_ROWS
                       | Capabilities.CLIENT_TRANSACTIONS)


class ObConnection(Connection):
    """A client connection whose OK packets and status flags come from its ObSession."""

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


class ObMysqlServer(MysqlServer):
    """Builds ObConnections and remembers each client's address for the 1045 message."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("capabilities", SERVER_CAPABILITIES)
        super().__init__(**kwargs)

    async def _client_connected_cb(self, reader: asyncio.StreamReader,
                                   writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        peer_host.set(peer[0] if peer else "")
        stream = MysqlStream(reader, writer)
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
