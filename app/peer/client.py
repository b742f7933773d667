"""Talking to other agents (wire spec §8.1): open routes, and v2-authenticated requests.

A leaf: imports only config, the peer errors and security. Every attempt carries a fresh header and
fresh AES keys; peer public keys are cached per address and re-fetched once on `code: 1`.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from app.config import DEFAULTS
from app.peer.errors import PeerRefused, PeerUnreachable
from app.security.crypto import CryptoError, build_v2_request, public_key_from_b64

log = logging.getLogger(__name__)

DECRYPT_ERROR_CODE = 1
HEADER_LIFETIME_S = 30  # Ts = now + 30 s (the spec allows 10..60)
CONNECT_TIMEOUT_S = 5.0
_keys: dict[str, RSAPublicKey] = {}
_keys_lock = threading.Lock()
_local = threading.local()

if TYPE_CHECKING:  # pragma: no cover - typing only
    import requests
# requests (with urllib3 and charset detection, several MiB) is imported at the first call to
# a peer, not with this module: an idle agent never loads it.


def _reason(exc: requests.RequestException) -> str:
    """A short transport reason without URLs or library internals."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = _local.session = requests.Session()
        # Agent traffic goes straight to the peer, never through an HTTP(S)_PROXY from the
        # environment: the headers carry encrypted passwords.
        session.trust_env = False
    return session


def forget_peer_keys() -> None:
    """Drop every cached peer public key."""
    with _keys_lock:
        _keys.clear()


class AgentClient:
    """One peer agent at ip:port."""

    def __init__(self, ip: str, port: int, scheme: str = "http",
                 timeout: float | None = None, verify: bool | str = True):
        self.ip, self.port, self.scheme, self.verify = ip, int(port), scheme, verify
        read = float(DEFAULTS["AGENT_HTTP_TIMEOUT_S"] if timeout is None else timeout)
        self.timeout = (min(CONNECT_TIMEOUT_S, read), read)

    @property
    def server(self) -> str:
        """host:port as used in URLs and messages (IPv6 in brackets)."""
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    def info(self) -> dict[str, Any]:
        """GET /api/v1/info (no X-OCS-* headers)."""
        return self._object(self._open_get("/api/v1/info"), "GET", "/api/v1/info")

    def secret(self) -> dict[str, Any]:
        """GET /api/v1/secret; also refreshes the cached public key."""
        data = self._object(self._open_get("/api/v1/secret"), "GET", "/api/v1/secret")
        try:
            key = public_key_from_b64(str(data.get("public_key", "")))
        except CryptoError:
            raise PeerUnreachable("GET", "/api/v1/secret", self.server,
                                     "invalid public_key") from None
        with _keys_lock:
            _keys[self._key_id()] = key
        return data

    def status(self) -> dict[str, Any]:
        """GET /api/v1/status."""
        return self._object(self._open_get("/api/v1/status"), "GET", "/api/v1/status")

    def time(self) -> str:
        """GET /api/v1/time: the peer's clock, RFC 3339."""
        return str(self._open_get("/api/v1/time"))

    def request(self, method: str, path: str, body: Any = None, auth: str | None = "",
                agent_header: bool = False, query: Mapping[str, Any] | None = None) -> Any:
        """A v2-authenticated call; returns `data` (None when absent) or raises typed errors."""
        target = f"{path}?{urlencode(query)}" if query else path
        plaintext = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        name = "X-OCS-Agent-Header" if agent_header else "X-OCS-Header"
        for attempt in range(2):
            out = build_v2_request(self._public_key(refresh=attempt > 0), auth or "", target,
                                   plaintext, lifetime_s=HEADER_LIFETIME_S)
            headers = {name: out.header, "Content-Type": "application/json"}
            try:
                return self._send(method, target, headers, out.body or None)
            except PeerRefused as exc:
                if attempt or exc.code != DECRYPT_ERROR_CODE:
                    raise
                log.info("%s answered code 1 for %s %s; re-fetching its key", self.server,
                         method, path)
        raise AssertionError("unreachable")

    def _key_id(self) -> str:
        return f"{self.scheme}://{self.server}"

    def _public_key(self, refresh: bool = False) -> RSAPublicKey:
        if not refresh:
            with _keys_lock:
                key = _keys.get(self._key_id())
            if key is not None:
                return key
        self.secret()
        with _keys_lock:
            return _keys[self._key_id()]

    def _open_get(self, path: str) -> Any:
        return self._send("GET", path, {}, None)

    def _send(self, method: str, target: str, headers: dict[str, str], data: str | None) -> Any:
        import requests

        url = f"{self.scheme}://{self.server}{target}"
        try:
            resp = _session().request(method, url, headers=headers, data=data, timeout=self.timeout,
                                      allow_redirects=False, verify=self.verify)
        except requests.RequestException as exc:
            raise PeerUnreachable(method, target, self.server, _reason(exc)) from None
        return self._parse(resp, method, target)

    def _parse(self, resp: requests.Response, method: str, target: str) -> Any:
        if resp.status_code == 204:  # no content (a scale-in of a server not in the cluster)
            return None
        try:
            envelope = resp.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            if resp.status_code >= 400:
                raise PeerRefused(method, target, self.server, resp.status_code, "",
                                        f"HTTP {resp.status_code} without an envelope")
            raise PeerUnreachable(method, target, self.server, "reply is not a JSON envelope")
        if resp.status_code >= 300:
            error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
            code = error.get("code", 0)
            raise PeerRefused(method, target, self.server, resp.status_code,
                                    str(error.get("errCode", "")),
                                    str(error.get("message", f"HTTP {resp.status_code}")),
                                    code if isinstance(code, int) else 0)
        return envelope.get("data")

    def _object(self, data: Any, method: str, path: str) -> dict[str, Any]:
        if not isinstance(data, dict) or not data:
            raise PeerUnreachable(method, path, self.server, "reply data is not an object")
        return data
