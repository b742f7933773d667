"""pytest fixtures for in-process security tests; import them into a test module to use them."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from Crypto.PublicKey import RSA
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import v2


@pytest.fixture(scope="session")
def agent_key_pem() -> bytes:
    """One 2048-bit agent key for the whole session (key generation is slow)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture
def keyed_app(app, agent_key_pem):
    """The conftest app with the session key installed as its key file (mode 0600)."""
    path = Path(app.config["KEY_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(agent_key_pem)
    return app


class Signer:
    """Builds v2 headers and bodies for the in-process app, as the SDK would."""

    def __init__(self, pem: bytes):
        self.key = RSA.import_key(pem).public_key()

    def request(self, uri: str, body: Any = None, auth: str = "", header: str = "X-OCS-Header",
                raw_body: bytes | None = None, **knobs: Any) -> tuple[dict[str, str], str | bytes]:
        """(headers, data) for one request; a fresh header and keys every call."""
        keys = knobs.pop("keys", None) or v2.new_keys()
        if raw_body is not None:
            data: str | bytes = raw_body
        elif body is not None:
            data = v2.encrypt_body(keys, json.dumps(body).encode())
        else:
            data = b""
        return {header: v2.header_value(self.key, uri, auth=auth, keys=keys, **knobs)}, data


@pytest.fixture
def signer(keyed_app, agent_key_pem) -> Signer:
    return Signer(agent_key_pem)


@pytest.fixture
def signed_client(keyed_app):
    return keyed_app.test_client()
