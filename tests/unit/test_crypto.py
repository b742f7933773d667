"""Pure primitives: the §5.8 AES vector, strict padding and base64, RSA chunks and blocks."""
import base64
import json

import pytest
from Crypto.Cipher import PKCS1_v1_5
from Crypto.PublicKey import RSA
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.security import crypto
from app.security.crypto import CryptoError

KEYS = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
BODY = "JW+HONxtTYInKiutbFVA+fT6zNfxZ2uWUSc1YQf3/Nw="


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_spec_aes_vector_encrypts_and_decrypts():
    assert crypto.b64encode(KEYS) == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    plaintext = b'{"operator": "RETRY"}'
    assert crypto.b64encode(crypto.aes_encrypt(KEYS, plaintext)) == BODY
    assert crypto.aes_decrypt(KEYS, base64.b64decode(BODY)) == plaintext


def test_padding_adds_one_to_sixteen_bytes():
    assert len(crypto.pkcs7_pad(b"x" * 21)) == 32
    assert crypto.pkcs7_pad(b"x" * 16)[-16:] == bytes([16]) * 16
    assert crypto.pkcs7_unpad(b"abc" + bytes([13]) * 13) == b"abc"


@pytest.mark.parametrize("data", [
    b"", b"x" * 15, b"x" * 15 + b"\x00", b"x" * 15 + b"\x11", b"x" * 12 + b"\x01\x02\x04\x04",
    b"x" * 13 + b"\x02\x03\x03",
])
def test_bad_padding_is_rejected(data):
    with pytest.raises(CryptoError):
        crypto.pkcs7_unpad(data)


@pytest.mark.parametrize("ciphertext", [b"", b"x" * 15, b"x" * 33])
def test_aes_rejects_bad_lengths(ciphertext):
    with pytest.raises(CryptoError):
        crypto.aes_decrypt(KEYS, ciphertext)


def test_aes_rejects_wrong_key_length():
    with pytest.raises(CryptoError):
        crypto.aes_decrypt(KEYS[:31], b"x" * 16)


@pytest.mark.parametrize("text", ["AA=", "AA==AA==", "A===", " AAAA", "AAAA\n", "AA-_", "Zm9v\u00e9",
                                  "AAA"])
def test_strict_base64_rejects(text):
    with pytest.raises(CryptoError):
        crypto.b64decode_strict(text)


def test_strict_base64_accepts_standard_padded():
    assert crypto.b64decode_strict("Zm9vYg==") == b"foob"
    assert crypto.b64decode_strict(b"") == b""


@pytest.mark.parametrize("chunk", [1, 53, 245])
def test_rsa_chunks_decrypt_by_modulus_blocks(private_key, chunk):
    data = json.dumps({"auth": "pw", "ts": "1", "uri": "/x" * 80}).encode()
    sealed = crypto.rsa_encrypt_chunks(private_key.public_key(), data, chunk)
    assert len(sealed) % 256 == 0
    assert crypto.rsa_decrypt_blocks(private_key, sealed) == data


def test_rsa_chunk_size_is_bounded(private_key):
    with pytest.raises(ValueError):
        crypto.rsa_encrypt_chunks(private_key.public_key(), b"x", 246)


@pytest.mark.parametrize("data", [b"", b"x" * 255, b"x" * 257, b"\x00" * 256])
def test_rsa_decrypt_rejects_bad_input(private_key, data):
    # Random blocks may "decrypt" under implicit rejection; callers then fail on the JSON.
    if len(data) % 256:
        with pytest.raises(CryptoError):
            crypto.rsa_decrypt_blocks(private_key, data)
    else:
        try:
            crypto.rsa_decrypt_blocks(private_key, data)
        except CryptoError:
            pass


def test_sdk_library_header_decrypts_here(private_key):
    """pycryptodome (what the SDK uses) in 53-byte chunks, decrypted by 256-byte blocks."""
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.PKCS1)
    cipher = PKCS1_v1_5.new(RSA.import_key(pem))
    data = json.dumps({"auth": "", "ts": "9", "uri": "/api/v1/ob/scale_out", "keys": "k" * 44})
    raw = data.encode()
    sealed = b"".join(cipher.encrypt(raw[i:i + 53]) for i in range(0, len(raw), 53))
    assert crypto.rsa_decrypt_blocks(private_key, sealed) == raw


def test_public_key_is_pkcs1_der_and_loads_back(private_key):
    text = crypto.public_key_to_b64(private_key.public_key())
    der = base64.b64decode(text)
    assert der[:4] == bytes.fromhex("3082010a")  # SEQUENCE of modulus and exponent, no OID
    assert RSA.import_key(der).size_in_bits() == 2048
    loaded = crypto.public_key_from_b64(text)
    assert loaded.public_numbers() == private_key.public_key().public_numbers()


def test_public_key_from_garbage_fails():
    with pytest.raises(CryptoError):
        crypto.public_key_from_b64("Zm9vYmFy")


def test_build_v2_request_round_trip(private_key):
    out = crypto.build_v2_request(private_key.public_key(), "rootpw", "/api/v1/x?a=1",
                                  b'{"k": 1}', lifetime_s=60, now=1000)
    header = json.loads(crypto.rsa_decrypt_blocks(private_key, base64.b64decode(out.header)))
    assert header["auth"] == "rootpw" and header["ts"] == "1060" and header["uri"] == "/api/v1/x?a=1"
    keys = base64.b64decode(header["keys"])
    assert keys == out.keys and len(keys) == 32
    assert crypto.aes_decrypt(keys, base64.b64decode(out.body)) == b'{"k": 1}'


def test_build_v2_request_fresh_every_time(private_key):
    first = crypto.build_v2_request(private_key.public_key(), "", "/x", b"{}")
    second = crypto.build_v2_request(private_key.public_key(), "", "/x", b"{}")
    assert first.header != second.header and first.keys != second.keys
    assert crypto.build_v2_request(private_key.public_key(), "", "/x").body == ""


def test_encrypt_for_peer_round_trip(private_key):
    sealed = crypto.encrypt_for_peer(private_key.public_key(), "agent-pw")
    assert crypto.rsa_decrypt_blocks(private_key, base64.b64decode(sealed)) == b"agent-pw"
