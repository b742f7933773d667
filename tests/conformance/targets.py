"""The conformance targets: a seekdb server that run.py started, and an obemu cluster started here.

A target is a list of observers that share one database. seekdb is one server, so its
"observer 1" is a second connection to the same server; obemu gets two observers of one cluster,
so every test that uses two connections also checks that a row or a lock taken through one
observer is seen through the other.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pymysql
from peewee import MySQLDatabase

TARGET_ENV = "OBSCALE_CONFORMANCE_TARGET"
SEEKDB_ADDR_ENV = "OBSCALE_SEEKDB_ADDR"
KNOWN_TARGETS = ("seekdb", "obemu")
USER = "root@sys"
PASSWORD = "conformance-root"
DATABASE = "ocs"
# seekdb holds 0.0.0.0:2881 in the namespace, so obemu's observers use other ports.
OBEMU_IPS = ("127.0.2.1", "127.0.2.2")
OBEMU_MYSQL_PORT = 2891
OBEMU_RPC_PORT = 2892
OBEMU_ZONE = "zone1"
TIMEOUT_S = 30.0


def target_names(value: str) -> list[str]:
    """The comma-separated target names of TARGET_ENV, checked."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(KNOWN_TARGETS))
    if unknown:
        raise ValueError(f"{TARGET_ENV}: unknown target(s) {unknown}; known: {KNOWN_TARGETS}")
    return names


@dataclass
class Target:
    """Where the suite connects: one (ip, mysql_port) per observer, root@sys's password."""

    name: str
    servers: list[tuple[str, int]]
    password: str = PASSWORD

    def server(self, observer: int = 0) -> tuple[str, int]:
        """The observer's address; indexes past the last observer wrap around."""
        return self.servers[observer % len(self.servers)]

    def connect(self, observer: int = 0, database: str | None = DATABASE,
                **kwargs: Any) -> pymysql.connections.Connection:
        """A PyMySQL connection as root@sys (autocommit, no TLS)."""
        host, port = self.server(observer)
        options: dict[str, Any] = dict(host=host, port=port, user=USER, password=self.password,
                                       database=database, autocommit=True, ssl_disabled=True,
                                       charset="utf8mb4", connect_timeout=TIMEOUT_S,
                                       read_timeout=TIMEOUT_S, write_timeout=TIMEOUT_S)
        options.update(kwargs)
        return pymysql.connect(**options)

    def peewee(self, observer: int = 0) -> MySQLDatabase:
        """A peewee MySQLDatabase on `ocs` through one observer (not yet connected)."""
        host, port = self.server(observer)
        return MySQLDatabase(DATABASE, host=host, port=port, user=USER, password=self.password,
                             ssl_disabled=True, connect_timeout=TIMEOUT_S,
                             read_timeout=TIMEOUT_S, write_timeout=TIMEOUT_S)


def seekdb_target() -> Target:
    """The seekdb server named by SEEKDB_ADDR_ENV; gives root the suite's password once."""
    address = os.environ.get(SEEKDB_ADDR_ENV, "")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RuntimeError(f"{SEEKDB_ADDR_ENV} must be host:port (make conformance sets it)")
    target = Target("seekdb", [(host, int(port))])
    try:
        target.connect(database=None).close()
    except pymysql.err.OperationalError:  # a fresh seekdb: root has no password yet
        conn = target.connect(database=None, password="")
        with conn, conn.cursor() as cursor:
            cursor.execute("ALTER USER root IDENTIFIED BY %s", (PASSWORD,))
    return target


@contextlib.contextmanager
def obemu_target(base_dir: Path) -> Iterator[Target]:
    """A two-observer obemu cluster (real processes), stopped by pid afterwards."""
    from obemu.testing import Fleet

    fleet = Fleet(base_dir)
    try:
        ports = dict(mysql_port=OBEMU_MYSQL_PORT, rpc_port=OBEMU_RPC_PORT)
        cluster = fleet.start_cluster(OBEMU_IPS[0], zone=OBEMU_ZONE, root_password=PASSWORD,
                                      **ports)
        spare = fleet.start_spare(OBEMU_IPS[1], OBEMU_ZONE, cluster=cluster, **ports)
        conn = cluster.connect()
        with conn, conn.cursor() as cursor:
            cursor.execute(f"ALTER SYSTEM ADD SERVER '{spare.addr}' ZONE '{OBEMU_ZONE}'")
        yield Target("obemu", [(ip, OBEMU_MYSQL_PORT) for ip in OBEMU_IPS])
    finally:
        fleet.teardown()


@contextlib.contextmanager
def open_target(name: str, base_dir: Path) -> Iterator[Target]:
    """The named target, ready for the suite."""
    if name == "seekdb":
        yield seekdb_target()
    else:
        with obemu_target(base_dir) as target:
            yield target
