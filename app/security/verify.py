"""Request verification, step by step (wire spec §5.3 and §5.4); mostly pure functions.

The middleware feeds a RequestView in and gets a Verified out, or an ApiError is raised.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import quote

from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN, IDENTITY_SCALING_OUT
from app.security import passwords
from app.security.crypto import (CryptoError, aes_decrypt, b64decode_strict, fingerprint,
                                 rsa_decrypt_blocks)
from app.security.keystore import KeyStore

OCS_HEADER = "X-OCS-Header"
AGENT_HEADER = "X-OCS-Agent-Header"
MAX_HEADER_BLOCKS = 32  # a legitimate header needs 2-8 blocks; bounds the RSA work per request
_TS = re.compile(r"[0-9]{1,12}")
_SHOWABLE = re.compile(r"[ -~]{0,32}")
_CLUSTER_IDENTITIES = (IDENTITY_SCALING_OUT, IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN)

MESSAGES = {
    "Request.Header.NotFound": "X-OCS-Agent-Header or X-OCS-Header not found in http request header",
    "Security.Authentication.Header.DecryptError": "Unauthorized: request decryption failed",
    "Security.Authentication.Expired": "Unauthorized: Authentication expired",
    "Security.Authentication.Replay": "Unauthorized: Authentication replayed",
    "Security.Authentication.Header.UriMismatch": "Unauthorized: URI mismatch",
    "Security.Authentication.IncorrectOceanbasePassword":
        "Unauthorized: OceanBase password is incorrect",
    "Security.Authentication.IncorrectAgentPassword": "Unauthorized: Agent password is incorrect",
    "Security.Authentication.WithAgentPassword":
        "Unauthorized: Should use agent_password to verify: agent password has been set",
    "Security.Authentication.WithOceanBasePassword":
        "Unauthorized: Should use oceanbase_password to verify: agent password is not initialized",
    "Security.Authentication.Unauthorized": "Unauthorized: Authentication failed",
}


def security_error(err_code: str) -> ApiError:
    """The catalogue error with its fixed message."""
    return ApiError(err_code, MESSAGES[err_code])


def decrypt_error() -> ApiError:
    """The one uniform answer to every decryption or decoding failure (no oracle)."""
    return security_error("Security.Authentication.Header.DecryptError")


@dataclass(frozen=True)
class RequestView:
    """What verification needs from an HTTP request."""

    headers: Mapping[str, str]
    raw_target: str
    body: bytes


@dataclass(frozen=True)
class HeaderFields:
    """The decrypted header, keys folded to lower case and type-checked."""

    auth: str
    ts: str
    uri: str
    keys: str | None


@dataclass(frozen=True)
class Credentials:
    """What this agent has on record for §5.4."""

    identity: str
    root_password_enc: str | None
    agent_password_hash: str | None


@dataclass(frozen=True)
class Verified:
    """A request that passed: which header carried it, and the plaintext body."""

    header: str
    body: bytes


def pick_header(headers: Mapping[str, str]) -> tuple[str, str]:
    """Step 2: X-OCS-Agent-Header if present and non-empty, else X-OCS-Header."""
    for name in (AGENT_HEADER, OCS_HEADER):
        value = headers.get(name)
        if value:
            return name, value
    raise security_error("Request.Header.NotFound")


def decrypt_header(store: KeyStore, value: str) -> tuple[bytes, HeaderFields]:
    """Step 3: base64, k-byte RSA blocks, UTF-8 JSON object, typed fields; uniform failure."""
    try:
        ciphertext = b64decode_strict(value)
        if len(ciphertext) > MAX_HEADER_BLOCKS * store.block_size:
            raise CryptoError()
        return ciphertext, parse_fields(rsa_decrypt_blocks(store.private_key, ciphertext))
    except CryptoError:
        raise decrypt_error() from None


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    folded: dict[str, object] = {}
    for key, value in pairs:
        lower = key.lower()
        if lower in folded:
            raise CryptoError()
        folded[lower] = value
    return folded


def parse_fields(plaintext: bytes) -> HeaderFields:
    """Parse the header JSON (keys case-insensitive) and type-check Auth, Ts, Uri, Keys."""
    try:
        obj = json.loads(plaintext.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CryptoError() from None
    if not isinstance(obj, dict):
        raise CryptoError()
    auth, ts, uri, keys = (obj.get(name) for name in ("auth", "ts", "uri", "keys"))
    auth = "" if auth is None else auth
    # Auth and Keys may be null; Ts and Uri must be strings (a missing or null one fails here).
    if not isinstance(auth, str) or not isinstance(ts, str) or not isinstance(uri, str):
        raise CryptoError()
    if keys is not None and not isinstance(keys, str):
        raise CryptoError()
    fields = HeaderFields(auth, ts, uri, keys)
    try:
        "".join((fields.auth, fields.ts, fields.uri, fields.keys or "")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes
        raise CryptoError() from None
    return fields


def check_ts(ts: str, now: int, max_ahead_s: int) -> int:
    """Step 4: Ts is a 1-12 digit expiry, not more than max_ahead_s away, not passed."""
    if not _TS.fullmatch(ts):
        shown = ts if _SHOWABLE.fullmatch(ts) else "<invalid>"
        raise ApiError("Security.Authentication.Timestamp.Invalid",
                       f"Unauthorized: Invalid timestamp: {shown}, err: not a decimal Unix time")
    expiry = int(ts)
    if expiry > now + max_ahead_s:
        raise ApiError("Security.Authentication.Timestamp.Invalid",
                       f"Unauthorized: Invalid timestamp: {ts}, err: more than {max_ahead_s} s ahead")
    if now > expiry:
        raise security_error("Security.Authentication.Expired")
    return expiry


def raw_target(environ: Mapping[str, object]) -> str:
    """The request target as sent: RAW_URI / REQUEST_URI, else quoted path plus non-empty query."""
    for name in ("RAW_URI", "REQUEST_URI"):
        value = environ.get(name)
        if isinstance(value, str) and value:
            return value[:-1] if value.endswith("?") else value
    path = quote(str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")),
                 safe="/:@!$&'()*+,;=-._~")
    query = str(environ.get("QUERY_STRING", ""))
    return f"{path}?{query}" if query else path


def check_uri(claimed: str, target: str) -> None:
    """Step 6: the header's Uri must equal the raw request target exactly."""
    if claimed != target:
        raise security_error("Security.Authentication.Header.UriMismatch")


def check_password(creds: Credentials, header: str, auth: str, store: KeyStore) -> None:
    """Step 7: the password rules of §5.4 for this agent's identity."""
    has_agent = creds.agent_password_hash is not None
    if creds.identity in _CLUSTER_IDENTITIES:
        _check_cluster_agent(creds, header, auth, store)
    elif not has_agent:
        return
    elif header == OCS_HEADER:
        raise security_error("Security.Authentication.WithAgentPassword")
    elif not _agent_password_matches(creds.agent_password_hash, auth, store):
        raise security_error("Security.Authentication.IncorrectAgentPassword")


def _check_cluster_agent(creds: Credentials, header: str, auth: str, store: KeyStore) -> None:
    root, agent = creds.root_password_enc, creds.agent_password_hash
    if root is None and agent is None:
        raise security_error("Security.Authentication.Unauthorized")
    if header == OCS_HEADER:
        if root is None:
            raise security_error("Security.Authentication.WithAgentPassword")
        if not passwords.verify_root_password(store, root, auth):
            raise security_error("Security.Authentication.IncorrectOceanbasePassword")
    elif agent is None:
        raise security_error("Security.Authentication.WithOceanBasePassword")
    elif not _agent_password_matches(agent, auth, store):
        # Either form, as a SINGLE agent takes it: a coordinator that sent the RSA form while
        # this agent was SINGLE may resend it after it became SCALING OUT.
        raise security_error("Security.Authentication.IncorrectAgentPassword")


def _agent_password_matches(stored_hash: str, auth: str, store: KeyStore) -> bool:
    """Auth is an RSA ciphertext of the agent password under our key, or the password."""
    try:
        plain = rsa_decrypt_blocks(store.private_key, b64decode_strict(auth)).decode("utf-8")
    except (CryptoError, UnicodeDecodeError):
        plain = None
    # The ciphertext form first: a fresh ciphertext never hits the result cache.
    if plain is not None and passwords.verify_agent_password(stored_hash, plain):
        return True
    return passwords.verify_agent_password(stored_hash, auth)


def decrypt_body(keys: str | None, raw: bytes) -> bytes:
    """Step 8: bare base64 AES-128-CBC under Keys; empty raw body -> b""; uniform failure."""
    if not raw:
        return b""
    try:
        if keys is None:
            raise CryptoError()
        return aes_decrypt(b64decode_strict(keys), b64decode_strict(raw))
    except CryptoError:
        raise decrypt_error() from None


def verify_request(view: RequestView, store: KeyStore, credentials: Callable[[], Credentials],
                   remember: Callable[[str, int, int], bool], now: int,
                   max_ahead_s: int = 3600) -> Verified:
    """Run steps 2-8 of §5.3 in order; the first failure raises its ApiError."""
    header, value = pick_header(view.headers)
    ciphertext, fields = decrypt_header(store, value)
    expiry = check_ts(fields.ts, now, max_ahead_s)
    if not remember(fingerprint(ciphertext), expiry, now):
        raise security_error("Security.Authentication.Replay")
    check_uri(fields.uri, view.raw_target)
    check_password(credentials(), header, fields.auth, store)
    return Verified(header=header, body=decrypt_body(fields.keys, view.body))
