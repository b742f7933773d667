"""Passwords at rest and their constant-time verification.

* root@sys password: RSA-OAEP(SHA-256) encrypted with the agent's own key (it must be
  recoverable, to log in to OceanBase), stored as ``rsa-oaep$<base64>``.
* agent password: salted scrypt hash, stored as ``scrypt$n$r$p$<salt>$<hash>``; never plain.

Verification results are cached in memory under an HMAC of (stored value, supplied value)
with a per-process random key, so a repeated request costs one HMAC instead of an RSA
decryption or a scrypt run, and the cache never holds a password.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections import OrderedDict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from app.security.crypto import CryptoError, b64decode_strict, b64encode
from app.security.keystore import KeyStore

ROOT_PREFIX = "rsa-oaep"
AGENT_PREFIX = "scrypt"
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
_CACHE_SIZE = 4096


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def encrypt_root_password(store: KeyStore, password: str) -> str:
    """Encrypt the root password at rest with the agent's public key."""
    data = password.encode("utf-8")
    chunk = store.block_size - 2 * 32 - 2
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]
    sealed = b"".join(store.public_key.encrypt(piece, _oaep()) for piece in pieces)
    return f"{ROOT_PREFIX}${b64encode(sealed)}"


def decrypt_root_password(store: KeyStore, stored: str) -> str:
    """Recover the root password; CryptoError if it was sealed under another key."""
    prefix, _, body = stored.partition("$")
    if prefix != ROOT_PREFIX:
        raise CryptoError()
    sealed, k = b64decode_strict(body), store.block_size
    if not sealed or len(sealed) % k:
        raise CryptoError()
    try:
        parts = [store.private_key.decrypt(sealed[i:i + k], _oaep()) for i in range(0, len(sealed), k)]
        return b"".join(parts).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise CryptoError() from None


def hash_agent_password(password: str) -> str:
    """Salted scrypt hash of the agent password."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, dklen=SCRYPT_LEN)
    return f"{AGENT_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64encode(salt)}${b64encode(digest)}"


def _agent_hash_matches(stored: str, supplied: str) -> bool:
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        if prefix != AGENT_PREFIX:
            return False
        want = b64decode_strict(digest)
        got = hashlib.scrypt(supplied.encode("utf-8", "surrogatepass"),
                             salt=b64decode_strict(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want))
    except (ValueError, CryptoError):
        return False
    return hmac.compare_digest(got, want)


class _ResultCache:
    """A bounded LRU of verification results keyed by a keyed hash (never a password)."""

    def __init__(self, size: int = _CACHE_SIZE):
        self._size = size
        self._secret = secrets.token_bytes(32)
        self._items: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, *parts: str) -> bytes:
        mac = hmac.new(self._secret, digestmod=hashlib.sha256)
        for part in parts:
            data = part.encode("utf-8", "surrogatepass")
            mac.update(len(data).to_bytes(8, "big") + data)
        return mac.digest()

    def get(self, key: bytes) -> bool | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: bytes, value: bool) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_cache = _ResultCache()


def verify_agent_password(stored_hash: str, supplied: str) -> bool:
    """Does `supplied` match the stored agent-password hash (cached)?"""
    key = _cache.key("agent", stored_hash, supplied)
    result = _cache.get(key)
    if result is None:
        result = _agent_hash_matches(stored_hash, supplied)
        _cache.put(key, result)
    return result


def verify_root_password(store: KeyStore, stored: str, supplied: str) -> bool:
    """Does `supplied` equal the stored root password (constant-time, cached)?"""
    key = _cache.key("root", store.public_key_b64, stored, supplied)
    result = _cache.get(key)
    if result is None:
        try:
            expected = decrypt_root_password(store, stored)
        except CryptoError:
            result = False
        else:
            result = hmac.compare_digest(expected.encode("utf-8"),
                                         supplied.encode("utf-8", "surrogatepass"))
        _cache.put(key, result)
    return result
