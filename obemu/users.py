"""CREATE USER / DROP USER in the sys tenant: users other than root may log in and read, and
only root may change the `ocs` database (obemu.sql.engine)."""
from __future__ import annotations

import re

from obemu.errors import ob_error, parse_error
from obemu.grammar import NAME, QUOTED, unquote
from obemu.servers import native_auth_string
from obemu.state import StateStore

FLAGS = re.I | re.S
USER = rf"(?P<user>{NAME})(?:\s*@\s*{NAME})?"
RE_CREATE = re.compile(rf"^CREATE\s+USER\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?{USER}"
                       rf"\s+IDENTIFIED\s+BY\s+(?P<pw>{QUOTED})$", FLAGS)
RE_DROP = re.compile(rf"^DROP\s+USER\s+(?P<exists>IF\s+EXISTS\s+)?(?P<users>.+)$", FLAGS)
RE_ONE = re.compile(rf"\s*{USER}\s*(?:,|$)", FLAGS)


def user_auth(store: StateStore, name: str) -> str | None:
    """A created user's native-password hash, None when there is no such user."""
    return store.value("SELECT auth FROM oceanbase.emu_users WHERE name = ?", (name,))


def manage(store: StateStore, statement: str, current_user: str) -> None:
    """Run CREATE USER or DROP USER for root; 1227 for anyone else, 1396 on a clash."""
    if current_user != "root":
        raise ob_error(1227, privilege="CREATE USER")
    if match := RE_CREATE.match(statement):
        _create(store, unquote(match["user"]), unquote(match["pw"]), bool(match["exists"]))
    elif match := RE_DROP.match(statement):
        _drop(store, _names(match["users"], statement), bool(match["exists"]))
    else:
        raise parse_error(statement)


def _names(text: str, statement: str) -> list[str]:
    names, pos = [], 0
    while pos < len(text):
        one = RE_ONE.match(text, pos)
        if not one or one.end() == pos:
            raise parse_error(statement)
        names.append(unquote(one["user"]))
        pos = one.end()
    return names


def _create(store: StateStore, name: str, password: str, if_not_exists: bool) -> None:
    with store.transaction() as conn:
        if name == "root" or user_auth(store, name) is not None:
            if if_not_exists:
                return
            raise ob_error(1396, operation="CREATE USER", user=f"'{name}'@'%'")
        conn.execute("INSERT INTO oceanbase.emu_users VALUES (?, ?)",
                     (name, native_auth_string(password)))


def _drop(store: StateStore, names: list[str], if_exists: bool) -> None:
    with store.transaction() as conn:
        missing = [n for n in names if n == "root" or user_auth(store, n) is None]
        if missing and not if_exists:
            raise ob_error(1396, operation="DROP USER", user=f"'{missing[0]}'@'%'")
        conn.executemany("DELETE FROM oceanbase.emu_users WHERE name = ?", [(n,) for n in names
                                                                          if n != "root"])
