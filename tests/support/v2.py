"""Raw v2 requests built independently of app.security, with pycryptodome as the SDK does.

Every knob a security test needs: key spelling, Ts, Uri, Keys, chunk size, raw plaintext.
"""
from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import requests
from Crypto.Cipher import AES
from Crypto.Cipher import PKCS1_v1_5
from Crypto.PublicKey import RSA
from Crypto.Util.Padding import pad

GO_KEYS = {"auth": "Auth", "ts": "Ts", "uri": "Uri", "keys": "Keys"}


def fetch_key(base_url: str) -> RSA.RsaKey:
    """The agent's public key from /api/v1/secret."""
    data = requests.get(base_url + "/api/v1/secret", timeout=10).json()["data"]
    return RSA.import_key(base64.b64decode(data["public_key"]))


def rsa_chunks(key: RSA.RsaKey, plaintext: bytes, chunk: int = 53) -> str:
    """Base64 of PKCS#1 v1.5 encryption in `chunk`-byte pieces."""
    cipher = PKCS1_v1_5.new(key)
    pieces = [plaintext[i:i + chunk] for i in range(0, len(plaintext), chunk)] or [b""]
    return base64.b64encode(b"".join(cipher.encrypt(p) for p in pieces)).decode()


def header_value(key: RSA.RsaKey, uri: str, auth: Any = "", ts: Any = None,
                 keys: bytes | None = None, go_case: bool = False, extra: dict | None = None,
                 plaintext: bytes | None = None, chunk: int = 53) -> str:
    """An X-OCS-Header value; `plaintext` overrides the JSON entirely."""
    if plaintext is None:
        fields = {"auth": auth, "ts": str(int(time.time()) + 60) if ts is None else ts,
                  "uri": uri, "keys": base64.b64encode(keys).decode() if keys else None}
        if go_case:
            fields = {GO_KEYS[k]: v for k, v in fields.items()}
        fields.update(extra or {})
        plaintext = json.dumps(fields).encode()
    return rsa_chunks(key, plaintext, chunk)


def encrypt_body(keys: bytes, body: bytes) -> str:
    """Bare base64 AES-128-CBC with PKCS#7 padding."""
    return base64.b64encode(AES.new(keys[:16], AES.MODE_CBC, keys[16:]).encrypt(pad(body, 16))).decode()


def new_keys() -> bytes:
    return os.urandom(32)


def send(base_url: str, method: str, uri: str, body: dict | None = None, auth: str = "",
         header: str = "X-OCS-Header", key: RSA.RsaKey | None = None, **knobs: Any):
    """Build a fresh header (and body) and send it; returns the requests.Response."""
    key = key or fetch_key(base_url)
    keys = new_keys()
    data = encrypt_body(keys, json.dumps(body).encode()) if body is not None else None
    value = header_value(key, uri, auth=auth, keys=keys, **knobs)
    return requests.request(method, base_url + uri, headers={header: value}, data=data, timeout=30)
