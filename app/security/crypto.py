"""Pure cryptographic primitives shared by the server and the client side (wire spec §5).

RSA PKCS#1 v1.5 in chunks (encrypt) and modulus-sized blocks (decrypt), AES-128-CBC with
strict PKCS#7, strict base64 and the v2 header builder. No Flask, no I/O.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_BLOCK = 16
AES_KEY_BYTES = 16
SAFE_CHUNK = 53  # always <= k - 11 for keys of 512 bits and more
_B64 = re.compile(rb"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


class CryptoError(Exception):
    """Any decoding or decryption failure; deliberately carries no detail."""


def b64encode(data: bytes) -> str:
    """Standard padded base64 as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str | bytes) -> bytes:
    """Decode standard padded base64; anything else (whitespace, URL alphabet) fails."""
    try:
        raw = text.encode("ascii", "strict") if isinstance(text, str) else bytes(text)
    except UnicodeEncodeError:
        raise CryptoError() from None
    if not _B64.match(raw):
        raise CryptoError()
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError() from None


def fingerprint(data: bytes) -> str:
    """SHA-256 hex: the replay-cache key of a header's decoded ciphertext."""
    return hashlib.sha256(data).hexdigest()


def modulus_bytes(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> int:
    """k: the RSA modulus size in bytes."""
    return (key.key_size + 7) // 8


def rsa_encrypt_chunks(public_key: rsa.RSAPublicKey, data: bytes, chunk: int = SAFE_CHUNK) -> bytes:
    """RSA PKCS#1 v1.5 encrypt `data` in chunks of at most `chunk` (<= k-11) bytes."""
    limit = modulus_bytes(public_key) - 11
    if not 0 < chunk <= limit:
        raise ValueError(f"chunk size must be in 1..{limit}")
    pad = padding.PKCS1v15()
    if not data:
        return public_key.encrypt(b"", pad)
    return b"".join(public_key.encrypt(data[i:i + chunk], pad)
                    for i in range(0, len(data), chunk))


def rsa_decrypt_blocks(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Split into k-byte blocks, PKCS#1 v1.5-decrypt each, concatenate; CryptoError on any failure."""
    k = modulus_bytes(private_key)
    if not data or len(data) % k:
        raise CryptoError()
    pad = padding.PKCS1v15()
    try:
        return b"".join(private_key.decrypt(data[i:i + k], pad) for i in range(0, len(data), k))
    except ValueError:
        raise CryptoError() from None


def pkcs7_pad(data: bytes) -> bytes:
    """PKCS#7 padding to a multiple of 16 (always adds 1..16 bytes)."""
    fill = AES_BLOCK - len(data) % AES_BLOCK
    return data + bytes([fill]) * fill


def pkcs7_unpad(data: bytes) -> bytes:
    """Strip PKCS#7 padding, checking every padding byte."""
    if not data or len(data) % AES_BLOCK:
        raise CryptoError()
    fill = data[-1]
    if not 1 <= fill <= AES_BLOCK or data[-fill:] != bytes([fill]) * fill:
        raise CryptoError()
    return data[:-fill]


def _aes(keys: bytes) -> Cipher:
    if len(keys) != 2 * AES_KEY_BYTES:
        raise CryptoError()
    return Cipher(algorithms.AES(keys[:AES_KEY_BYTES]), modes.CBC(keys[AES_KEY_BYTES:]))


def aes_encrypt(keys: bytes, plaintext: bytes) -> bytes:
    """AES-128-CBC with key = keys[:16], IV = keys[16:32], PKCS#7 padded."""
    encryptor = _aes(keys).encryptor()
    return encryptor.update(pkcs7_pad(plaintext)) + encryptor.finalize()


def aes_decrypt(keys: bytes, ciphertext: bytes) -> bytes:
    """Reverse of aes_encrypt with a strict padding check; CryptoError on any failure."""
    if not ciphertext or len(ciphertext) % AES_BLOCK:
        raise CryptoError()
    decryptor = _aes(keys).decryptor()
    return pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())


def new_aes_keys() -> bytes:
    """Fresh random AES key ‖ IV (32 bytes)."""
    return os.urandom(2 * AES_KEY_BYTES)


def public_key_to_b64(public_key: rsa.RSAPublicKey) -> str:
    """Base64 of the PKCS#1 DER RSAPublicKey (the /api/v1/secret format)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return b64encode(der)


def public_key_from_b64(text: str) -> rsa.RSAPublicKey:
    """Load a peer key from base64 DER (PKCS#1 RSAPublicKey or SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_der_public_key(b64decode_strict(text))
    except ValueError:
        raise CryptoError() from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoError()
    return key


@dataclass(frozen=True)
class OutgoingRequest:
    """What a v2 client sends: the header value and the (possibly empty) wire body."""

    header: str
    body: str
    keys: bytes


def build_v2_request(public_key: rsa.RSAPublicKey, auth: str, uri: str,
                     body: bytes | None = None, lifetime_s: int = 60,
                     now: float | None = None) -> OutgoingRequest:
    """Encrypt a body and build a fresh X-OCS-Header / X-OCS-Agent-Header value (SDK style)."""
    keys = new_aes_keys()
    wire_body = b64encode(aes_encrypt(keys, body)) if body else ""
    ts = int(time.time() if now is None else now) + lifetime_s
    plaintext = json.dumps({"auth": auth, "ts": str(ts), "uri": uri, "keys": b64encode(keys)})
    header = b64encode(rsa_encrypt_chunks(public_key, plaintext.encode("utf-8")))
    return OutgoingRequest(header=header, body=wire_body, keys=keys)


def encrypt_for_peer(public_key: rsa.RSAPublicKey, text: str) -> str:
    """RSA-encrypt a secret (e.g. an agent or root password) for a peer, as base64."""
    return b64encode(rsa_encrypt_chunks(public_key, text.encode("utf-8")))
