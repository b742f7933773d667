"""The verification hook on the Flask app: open routes, protected routes, body cap, fuzzing."""
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.node import identity as agent
from app.db import database
from app.models import IDENTITY_CLUSTER_AGENT
from tests.support import v2
from tests.support.fixtures import Signer, agent_key_pem, keyed_app, signed_client, signer  # noqa: F401

PING = "/api/v1/admin/ping"


def _error(resp):
    body = resp.get_json()
    return resp.status_code, body["error"]["errCode"], body["error"].get("code", 0)


@pytest.mark.parametrize("path", ["/api/v1/info", "/api/v1/secret", "/api/v1/status",
                                  "/api/v1/time", "/healthz"])
def test_open_routes_ignore_garbage_headers(signed_client, path):
    resp = signed_client.get(path, headers={"X-OCS-Header": "garbage", "X-OCS-Agent-Header": "!"})
    assert resp.status_code == 200


def test_protected_route_without_header(signed_client):
    assert _error(signed_client.get(PING)) == (400, "Request.Header.NotFound", 0)


def test_unknown_route_and_wrong_method_answer_before_verification(signed_client):
    assert _error(signed_client.get("/api/v1/admin/ping/")) == (404, "Common.NotFound", 0)
    assert _error(signed_client.post("/api/v1/info")) == (405, "Request.Method.NotSupport", 0)
    assert _error(signed_client.delete(PING)) == (405, "Request.Method.NotSupport", 0)


def test_sdk_style_request_passes_and_decrypts_the_body(signed_client, signer):
    headers, data = signer.request(PING, body={"operator": "RETRY"})
    resp = signed_client.post(PING, headers=headers, data=data)
    assert resp.status_code == 200
    assert resp.get_json()["data"] == {"pong": True, "auth": "oceanbase"}


def test_go_style_keys_content_type_and_agent_header(signed_client, signer):
    headers, data = signer.request(PING, body={"ShowDetails": True}, go_case=True,
                                   header="X-OCS-Agent-Header",
                                   extra={"Token": "", "ForwardType": 0, "ForwardAgent": {}})
    headers["Content-Type"] = "application/json"
    resp = signed_client.get(PING, headers=headers, data=data)
    assert resp.status_code == 200 and resp.get_json()["data"]["auth"] == "agent"


def test_query_is_part_of_the_uri(signed_client, signer):
    headers, _ = signer.request(PING + "?show_details=True")
    assert signed_client.get(PING + "?show_details=True", headers=headers).status_code == 200
    headers, _ = signer.request(PING)
    assert _error(signed_client.get(PING + "?show_details=True", headers=headers)) == (
        401, "Security.Authentication.Header.UriMismatch", 10008)


def test_decrypted_body_must_be_a_json_object(signed_client, signer):
    keys = v2.new_keys()
    headers, data = signer.request(PING, raw_body=v2.encrypt_body(keys, b"[1]").encode(), keys=keys)
    resp = signed_client.post(PING, headers=headers, data=data)
    assert _error(resp) == (400, "Common.BindJsonFailed", 0)


@pytest.mark.parametrize("raw", [b"not base64!", b"AAAA", base64.b64encode(b"x" * 32)])
def test_bad_bodies_give_the_uniform_decrypt_error(signed_client, signer, raw):
    headers, data = signer.request(PING, raw_body=raw)
    assert _error(signed_client.post(PING, headers=headers, data=data)) == (
        401, "Security.Authentication.Header.DecryptError", 1)


def test_body_without_keys_is_a_decrypt_error(signed_client, signer):
    keys = v2.new_keys()
    headers = {"X-OCS-Header": v2.header_value(signer.key, PING, keys=None)}
    data = v2.encrypt_body(keys, b"{}")
    assert _error(signed_client.post(PING, headers=headers, data=data))[1] == \
        "Security.Authentication.Header.DecryptError"


def test_oversized_body_is_413_even_unauthenticated(signed_client):
    resp = signed_client.post(PING, data=b"x" * (1024 * 1024 + 1))
    assert _error(resp) == (413, "Request.Body.TooLarge", 0)
    assert resp.get_json()["error"]["message"] == "Request body too large: limit is 1048576 bytes"


def test_a_body_of_exactly_the_limit_is_read(signed_client):
    assert _error(signed_client.post(PING, data=b"x" * (1024 * 1024)))[0] == 400


def test_cluster_agent_checks_the_root_password(keyed_app, signed_client, signer):
    from app.security.middleware import app_keystore

    with keyed_app.app_context(), database.connection_context():
        agent.set_identity(IDENTITY_CLUSTER_AGENT, zone="zone1")
        agent.set_root_password("rootpw", app_keystore())
    headers, _ = signer.request(PING, auth="rootpw")
    assert signed_client.get(PING, headers=headers).status_code == 200
    headers, _ = signer.request(PING, auth="wrong")
    assert _error(signed_client.get(PING, headers=headers)) == (
        401, "Security.Authentication.IncorrectOceanbasePassword", 10008)


def test_verified_kind_is_none_on_open_routes(keyed_app):
    from flask import g

    with keyed_app.test_request_context("/api/v1/info"):
        keyed_app.preprocess_request()
        assert g.auth_kind is None and g.body_plaintext == b""


_blob = st.binary(max_size=2048)
_text = st.text(max_size=600)


def _header_candidates(signer):
    valid, _ = signer.request(PING, body={"a": 1})
    value = valid["X-OCS-Header"]
    return st.one_of(
        _text,
        _blob.map(lambda b: base64.b64encode(b).decode()),
        st.integers(0, len(value)).map(lambda n: value[:n]),
        st.integers(0, len(value) - 1).map(lambda n: value[:n] + ("A" if value[n] != "A" else "B")
                                           + value[n + 1:]),
        st.builds(lambda obj: v2.rsa_chunks(signer.key, json.dumps(obj).encode()),
                  st.dictionaries(st.sampled_from(["auth", "Ts", "uri", "KEYS", "x"]),
                                  st.one_of(st.none(), st.integers(), _text, st.booleans()))),
    )


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_headers_and_bodies_never_give_500(signed_client, signer, data):
    header_name = data.draw(st.sampled_from(["X-OCS-Header", "X-OCS-Agent-Header"]))
    value = data.draw(_header_candidates(signer))
    body = data.draw(st.one_of(_blob, _blob.map(base64.b64encode)))
    method = data.draw(st.sampled_from(["GET", "POST"]))
    # Raw CR/LF cannot travel in an HTTP header (the test client refuses them too).
    printable = value.encode("latin-1", "replace").decode("latin-1")
    headers = {header_name: printable.replace("\r", " ").replace("\n", " ")}
    resp = signed_client.open(PING, method=method, headers=headers, data=body)
    assert resp.status_code in (200, 400, 401)
    assert resp.mimetype == "application/json"
    assert "error" in resp.get_json() or resp.status_code == 200
