"""The agent's RSA key pair: created once (mode 0600, race-safe), then reused on every start."""
from __future__ import annotations

import logging
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.security.crypto import modulus_bytes, public_key_to_b64

log = logging.getLogger(__name__)

_lock = threading.Lock()
_opened: dict[str, "KeyStore"] = {}
_default: list["KeyStore"] = []


@dataclass(frozen=True)
class KeyStore:
    """A loaded key pair with the derived values every request needs."""

    path: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    public_key_b64: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        """The public half."""
        return self.private_key.public_key()

    @property
    def block_size(self) -> int:
        """k, the modulus size in bytes."""
        return modulus_bytes(self.private_key)

    @property
    def bits(self) -> int:
        """The key size in bits."""
        return self.private_key.key_size


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def create_key_file(path: Path, bits: int) -> bool:
    """Write a new key at `path` unless one exists; True if this call created it.

    The key goes to a private temp file (0600) that is hard-linked into place, so a reader
    never sees a partial file and two processes starting at once agree on one key.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_pem(key))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    log.info("generated a new %d-bit agent key in %s", bits, path)
    return True


def load_key_file(path: Path) -> KeyStore:
    """Load an existing key file; refuses a key readable by group or others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(f"key file {path} has mode {mode:o}; expected 0600")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"key file {path} does not hold an RSA private key")
    return KeyStore(str(path), key, public_key_to_b64(key.public_key()))


def open_keystore(path: str, bits: int = 2048) -> KeyStore:
    """The key store at `path`, created on first use and cached for this process."""
    with _lock:
        store = _opened.get(path)
        if store is None:
            create_key_file(Path(path), bits)
            store = load_key_file(Path(path))
            _opened[path] = store
        _default[:] = [store]
        return store


def current() -> KeyStore:
    """The key store this process opened last (the agent's own)."""
    if not _default:
        raise RuntimeError("the agent key store is not open; call open_keystore() first")
    return _default[0]


def forget() -> None:
    """Drop the cached key stores (tests, and after a deliberate key rotation)."""
    with _lock:
        _opened.clear()
        _default.clear()
