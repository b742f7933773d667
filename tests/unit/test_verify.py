"""The verification steps of wire spec §5.3/§5.4 as pure functions."""
import base64
import json

import pytest

from app.errors import ApiError
from app.models import (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, IDENTITY_SINGLE,
                        IDENTITY_UNIDENTIFIED)
from app.security import crypto, keystore, passwords, verify
from app.security.crypto import CryptoError
from app.security.verify import AGENT_HEADER, OCS_HEADER, Credentials

DECRYPT = "Security.Authentication.Header.DecryptError"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "agent_key.pem"
    keystore.create_key_file(path, 2048)
    return keystore.load_key_file(path)


def _err(excinfo) -> tuple[int, str, int]:
    return excinfo.value.status, excinfo.value.err_code, excinfo.value.code


def test_pick_header_prefers_the_agent_header():
    assert verify.pick_header({OCS_HEADER: "a", AGENT_HEADER: "b"}) == (AGENT_HEADER, "b")
    assert verify.pick_header({OCS_HEADER: "a", AGENT_HEADER: ""}) == (OCS_HEADER, "a")


def test_no_header_is_400_not_found():
    with pytest.raises(ApiError) as excinfo:
        verify.pick_header({})
    assert _err(excinfo) == (400, "Request.Header.NotFound", 0)
    assert excinfo.value.message == ("X-OCS-Agent-Header or X-OCS-Header not found in http "
                                     "request header")


@pytest.mark.parametrize("text,expected", [
    (b'{"auth": "a", "ts": "1", "uri": "/u", "keys": null}', ("a", "1", "/u", None)),
    (b'{"Auth": null, "Ts": "2", "Uri": "/v", "Keys": "k", "Token": "", "ForwardAgent": {}}',
     ("", "2", "/v", "k")),
    (b'{"AUTH": "x", "tS": "3", "uRi": "/w"}', ("x", "3", "/w", None)),
])
def test_parse_fields_folds_case_and_types(text, expected):
    fields = verify.parse_fields(text)
    assert (fields.auth, fields.ts, fields.uri, fields.keys) == expected


@pytest.mark.parametrize("text", [
    b"", b"null", b"[]", b'"s"', b"{bad", b"\xff\xfe", b'{"ts": 1760000000}', b'{"auth": 5}',
    b'{"uri": []}', b'{"keys": 1}', b'{"auth": "a", "Auth": "b"}', b'{"ts": "1", "ts": "2"}',
    b'{"auth": "\\ud800"}', b"[" * 5000,
])
def test_parse_fields_failures_are_crypto_errors(text):
    with pytest.raises(CryptoError):
        verify.parse_fields(text)


def test_decrypt_header_uniform_failure(store):
    for value in ["", "!!!", base64.b64encode(b"x" * 255).decode(), "\u00e9\u00e9\u00e9\u00e9",
                  base64.b64encode(b"x" * 256 * 33).decode()]:
        with pytest.raises(ApiError) as excinfo:
            verify.decrypt_header(store, value)
        assert _err(excinfo) == (401, DECRYPT, 1)
        assert excinfo.value.message == "Unauthorized: request decryption failed"


def test_decrypt_header_returns_ciphertext_and_fields(store):
    plain = json.dumps({"auth": "pw", "ts": "5", "uri": "/x", "keys": None}).encode()
    sealed = crypto.rsa_encrypt_chunks(store.public_key, plain)
    ciphertext, fields = verify.decrypt_header(store, crypto.b64encode(sealed))
    assert ciphertext == sealed and fields.auth == "pw"


@pytest.mark.parametrize("ts,err_code", [
    ("", "Security.Authentication.Timestamp.Invalid"),
    (" 1000", "Security.Authentication.Timestamp.Invalid"),
    ("+1000", "Security.Authentication.Timestamp.Invalid"),
    ("1_000", "Security.Authentication.Timestamp.Invalid"),
    ("1234567890123", "Security.Authentication.Timestamp.Invalid"),
    ("\u0661\u0662", "Security.Authentication.Timestamp.Invalid"),
    ("4601", "Security.Authentication.Timestamp.Invalid"),
    ("999", "Security.Authentication.Expired"),
])
def test_check_ts_failures(ts, err_code):
    with pytest.raises(ApiError) as excinfo:
        verify.check_ts(ts, now=1000, max_ahead_s=3600)
    assert _err(excinfo) == (401, err_code, 10008)


def test_check_ts_window_edges():
    assert verify.check_ts("1000", now=1000, max_ahead_s=3600) == 1000
    assert verify.check_ts("4600", now=1000, max_ahead_s=3600) == 4600


@pytest.mark.parametrize("environ,target", [
    ({"RAW_URI": "/api/v1/task/dag/11?show_details=True"}, "/api/v1/task/dag/11?show_details=True"),
    ({"RAW_URI": "/api/v1/ob/scale_out?"}, "/api/v1/ob/scale_out"),
    ({"REQUEST_URI": "/a%20b"}, "/a%20b"),
    ({"PATH_INFO": "/a b", "QUERY_STRING": ""}, "/a%20b"),
    ({"PATH_INFO": "/x", "QUERY_STRING": "y=1"}, "/x?y=1"),
])
def test_raw_target(environ, target):
    assert verify.raw_target(environ) == target


def test_check_uri_is_exact():
    verify.check_uri("/a?b=1", "/a?b=1")
    for claimed in ["/a?b=2", "/a", "/a?b=1&", "/A?b=1"]:
        with pytest.raises(ApiError) as excinfo:
            verify.check_uri(claimed, "/a?b=1")
        assert _err(excinfo) == (401, "Security.Authentication.Header.UriMismatch", 10008)


ROOT, AGENT = "rootpw", "agentpw"


@pytest.fixture(scope="module")
def sealed_root(store):
    return passwords.encrypt_root_password(store, ROOT)


@pytest.fixture(scope="module")
def agent_hash():
    return passwords.hash_agent_password(AGENT)


CASES = [
    # identity, root?, agent?, header, auth, expected errCode (None = pass)
    (IDENTITY_SINGLE, False, False, OCS_HEADER, "anything", None),
    (IDENTITY_SINGLE, False, False, AGENT_HEADER, "", None),
    (IDENTITY_UNIDENTIFIED, False, False, OCS_HEADER, "", None),
    (IDENTITY_SINGLE, False, True, OCS_HEADER, AGENT, "WithAgentPassword"),
    (IDENTITY_SINGLE, False, True, AGENT_HEADER, AGENT, None),
    (IDENTITY_SINGLE, False, True, AGENT_HEADER, "wrong", "IncorrectAgentPassword"),
    (IDENTITY_UNIDENTIFIED, False, True, OCS_HEADER, AGENT, "WithAgentPassword"),
    (IDENTITY_CLUSTER_AGENT, True, False, OCS_HEADER, ROOT, None),
    (IDENTITY_CLUSTER_AGENT, True, False, OCS_HEADER, "wrong", "IncorrectOceanbasePassword"),
    (IDENTITY_CLUSTER_AGENT, True, False, AGENT_HEADER, ROOT, "WithOceanBasePassword"),
    (IDENTITY_CLUSTER_AGENT, False, True, OCS_HEADER, ROOT, "WithAgentPassword"),
    (IDENTITY_CLUSTER_AGENT, False, True, AGENT_HEADER, AGENT, None),
    (IDENTITY_CLUSTER_AGENT, True, True, AGENT_HEADER, "wrong", "IncorrectAgentPassword"),
    (IDENTITY_CLUSTER_AGENT, True, True, OCS_HEADER, ROOT, None),
    (IDENTITY_CLUSTER_AGENT, False, False, OCS_HEADER, "", "Unauthorized"),
    (IDENTITY_SCALING_OUT, False, False, AGENT_HEADER, "", "Unauthorized"),
    (IDENTITY_SCALING_OUT, True, False, OCS_HEADER, ROOT, None),
    (IDENTITY_SCALING_OUT, True, False, OCS_HEADER, "", "IncorrectOceanbasePassword"),
]


@pytest.mark.parametrize("identity,has_root,has_agent,header,auth,expected", CASES)
def test_password_rules_by_identity(store, sealed_root, agent_hash, identity, has_root, has_agent,
                                    header, auth, expected):
    creds = Credentials(identity, sealed_root if has_root else None,
                        agent_hash if has_agent else None)
    if expected is None:
        verify.check_password(creds, header, auth, store)
        return
    with pytest.raises(ApiError) as excinfo:
        verify.check_password(creds, header, auth, store)
    assert _err(excinfo) == (401, f"Security.Authentication.{expected}", 10008)
    assert excinfo.value.message == verify.MESSAGES[excinfo.value.err_code]


def test_empty_root_password_counts_as_recorded(store):
    creds = Credentials(IDENTITY_CLUSTER_AGENT, passwords.encrypt_root_password(store, ""), None)
    verify.check_password(creds, OCS_HEADER, "", store)
    with pytest.raises(ApiError):
        verify.check_password(creds, OCS_HEADER, "x", store)


@pytest.mark.parametrize("identity", [IDENTITY_SINGLE, IDENTITY_SCALING_OUT,
                                      IDENTITY_CLUSTER_AGENT])
def test_the_agent_password_is_taken_as_rsa_ciphertext(store, sealed_root, agent_hash, identity):
    # A member takes it too: a coordinator that sent the RSA form while the target was SINGLE
    # resends it once the target is SCALING OUT.
    root = None if identity == IDENTITY_SINGLE else sealed_root
    creds = Credentials(identity, root, agent_hash)
    verify.check_password(creds, AGENT_HEADER, crypto.encrypt_for_peer(store.public_key, AGENT),
                          store)
    with pytest.raises(ApiError) as excinfo:
        verify.check_password(creds, AGENT_HEADER,
                              crypto.encrypt_for_peer(store.public_key, "wrong"), store)
    assert excinfo.value.err_code == "Security.Authentication.IncorrectAgentPassword"


def test_decrypt_body():
    keys = bytes(range(32))
    body = crypto.b64encode(crypto.aes_encrypt(keys, b'{"a": 1}')).encode()
    assert verify.decrypt_body(crypto.b64encode(keys), body) == b'{"a": 1}'
    assert verify.decrypt_body(None, b"") == b""
    for key_text, raw in [(None, body), ("AAAA", body), (crypto.b64encode(keys), b"not base64"),
                          (crypto.b64encode(keys), body[:-4]),
                          (crypto.b64encode(keys), crypto.b64encode(b"x" * 16).encode())]:
        with pytest.raises(ApiError) as excinfo:
            verify.decrypt_body(key_text, raw)
        assert _err(excinfo) == (401, DECRYPT, 1)


def test_verify_request_runs_the_steps_in_order(store):
    seen = []

    def remember(fp, expiry, now):
        seen.append(fp)
        return len(seen) == 1

    out = crypto.build_v2_request(store.public_key, "", "/x", b"{}", now=1000)
    view = verify.RequestView({OCS_HEADER: out.header}, "/x", out.body.encode())
    creds = lambda: Credentials(IDENTITY_SINGLE, None, None)  # noqa: E731
    result = verify.verify_request(view, store, creds, remember, now=1000)
    assert result.header == OCS_HEADER and result.body == b"{}"
    with pytest.raises(ApiError) as excinfo:  # same header again: replay, before the Uri check
        verify.verify_request(verify.RequestView({OCS_HEADER: out.header}, "/other", b""),
                              store, creds, remember, now=1000)
    assert excinfo.value.err_code == "Security.Authentication.Replay"
    with pytest.raises(ApiError) as excinfo:  # expired: before the replay store is touched
        verify.verify_request(view, store, creds, remember, now=2000)
    assert excinfo.value.err_code == "Security.Authentication.Expired" and len(seen) == 2


@pytest.mark.parametrize("text", [
    b'{"auth": "a", "ts": null, "uri": "/u"}',
    b'{"auth": "a", "uri": "/u"}',
    b'{"auth": "a", "ts": "1", "uri": null}',
    b'{"auth": "a", "ts": "1"}',
])
def test_missing_or_null_ts_and_uri_are_decoding_failures(text):
    with pytest.raises(CryptoError):
        verify.parse_fields(text)
