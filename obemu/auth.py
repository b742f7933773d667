"""Logins (§4): root in its OceanBase spellings, native password, passwords follow membership."""
from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from typing import Optional, Sequence

from mysql_mimic import utils
from mysql_mimic.auth import (AuthInfo, AuthPlugin, AuthState, Forbidden, IdentityProvider,
                              NativePasswordAuthPlugin, Success, User)

from obemu.errors import MESSAGES

peer_host: ContextVar[str] = ContextVar("obemu_peer_host", default="127.0.0.1")
# A hash nobody can produce a password for: unknown users and deny_login get 1045, not 3162.
IMPOSSIBLE_AUTH = secrets.token_hex(20)
RE_USER = re.compile(r"^(?:(?P<tenant_form>[^:]+):sys:(?P<user1>[^:@#]+)"
                     r"|(?P<user2>[^:@#]+)(?:@sys(?:#(?P<cluster>.+))?)?)$")


def parse_user(username: str, cluster: str) -> str | None:
    """The sys-tenant user a login names (`u`, `u@sys`, `u@sys#<cluster>`, `<cluster>:sys:u`),
    None for another tenant or another cluster (a cluster must equal -n)."""
    match = RE_USER.match(username or "")
    if not match:
        return None
    named = match["tenant_form"] or match["cluster"]
    if named is not None and named != cluster:
        return None
    return match["user1"] or match["user2"]


def user_allowed(username: str, cluster: str) -> bool:
    """Whether the login names root of this cluster's sys tenant."""
    return parse_user(username, cluster) == "root"


def short_user(username: str) -> str:
    """The user name without tenant or cluster (`root` for root@sys#c)."""
    match = RE_USER.match(username or "")
    return (match["user1"] or match["user2"]) if match else username



class ObNativePasswordPlugin(NativePasswordAuthPlugin):
    """mysql_native_password with MySQL's 1045 text, naming the client's host."""

    async def auth(self, auth_info: Optional[AuthInfo] = None) -> AuthState:
        if (auth_info and auth_info.handshake_plugin_name == self.name
                and auth_info.handshake_auth_data):
            nonce = auth_info.handshake_auth_data.rstrip(b"\x00")
        else:
            nonce = utils.nonce(20)
            auth_info = yield nonce + b"\x00"
        if self.password_matches(user=auth_info.user, scramble=auth_info.data, nonce=nonce):
            yield Success(auth_info.user.name)
        else:
            yield Forbidden(MESSAGES[1045].format(
                user=short_user(auth_info.username), host=peer_host.get(),
                using="YES" if auth_info.data else "NO"))


class ObIdentityProvider(IdentityProvider):
    """Looks the password up per login, so membership changes take effect at once."""

    def __init__(self, node):
        self.node = node
        self.plugin = ObNativePasswordPlugin()

    def get_plugins(self) -> Sequence[AuthPlugin]:
        return [self.plugin]

    async def get_user(self, username: str) -> Optional[User]:
        name = parse_user(username, self.node.cfg.cluster)
        auth = None
        if name is not None and not self.node.faults().has("deny_login"):
            auth = self.node.root_auth() if name == "root" else self.node.user_auth(name)
        auth = IMPOSSIBLE_AUTH if auth is None else auth
        return User(name=username, auth_string=auth or None, auth_plugin=self.plugin.name)
