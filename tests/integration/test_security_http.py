"""Every security failure of wire spec §5 over raw HTTP: exact status, errCode, code; no change."""
import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from Crypto.PublicKey import RSA

from app.models import IDENTITY_CLUSTER_AGENT
from tests.integration.helpers import db_snapshot, error_of
from tests.support import v2
from tests.support.agents import prepare_home, serve_agent

pytestmark = pytest.mark.integration
IP, PORT = "127.0.0.14", 2886
PING = "/api/v1/admin/ping"
DECRYPT = (401, "Security.Authentication.Header.DecryptError", 1)


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    home = prepare_home(tmp_path_factory.mktemp("sec") / "home", identity=IDENTITY_CLUSTER_AGENT,
                        zone="zone1", root_password="rootpw")
    with serve_agent(IP, home) as handle:
        yield handle


@pytest.fixture(scope="module")
def key(agent):
    return v2.fetch_key(agent.base_url)


@pytest.fixture(scope="module")
def other_key():
    return RSA.generate(2048).public_key()


def _post(agent, headers, data=None, path=PING):
    return requests.post(agent.base_url + path, headers=headers, data=data, timeout=30)


def _valid(key, uri=PING, body=b'{"a": 1}', **knobs):
    keys = v2.new_keys()
    header = v2.header_value(key, uri, auth=knobs.pop("auth", "rootpw"), keys=keys, **knobs)
    return {"X-OCS-Header": header}, v2.encrypt_body(keys, body)


def _case(name, key, other_key):
    now = int(time.time())
    keys = v2.new_keys()
    if name == "missing header":
        return {}, None, (400, "Request.Header.NotFound", 0)
    if name == "garbage header":
        return {"X-OCS-Header": "not-a-header"}, None, DECRYPT
    if name == "wrong key":
        return {"X-OCS-Header": v2.header_value(other_key, PING, auth="rootpw")}, None, DECRYPT
    if name == "truncated header":
        return {"X-OCS-Header": _valid(key)[0]["X-OCS-Header"][:-8]}, None, DECRYPT
    if name == "expired Ts":
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="rootpw", ts=str(now - 1))}, None,
                (401, "Security.Authentication.Expired", 10008))
    if name == "far-future Ts":
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="rootpw", ts=str(now + 3700))},
                None, (401, "Security.Authentication.Timestamp.Invalid", 10008))
    if name == "numeric Ts":
        return {"X-OCS-Header": v2.header_value(key, PING, auth="rootpw", ts=now + 60)}, None, DECRYPT
    if name == "Uri mismatch":
        return ({"X-OCS-Header": v2.header_value(key, "/api/v1/admin/health", auth="rootpw")}, None,
                (401, "Security.Authentication.Header.UriMismatch", 10008))
    if name == "wrong root password":
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="nope")}, None,
                (401, "Security.Authentication.IncorrectOceanbasePassword", 10008))
    if name == "agent header without agent password":
        return ({"X-OCS-Agent-Header": v2.header_value(key, PING, auth="rootpw")}, None,
                (401, "Security.Authentication.WithOceanBasePassword", 10008))
    if name == "bad AES padding":
        cipher = base64.b64decode(v2.encrypt_body(keys, b'{"a": 1}'))
        tampered = base64.b64encode(cipher[:-1] + bytes([cipher[-1] ^ 0x55])).decode()
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="rootpw", keys=keys)}, tampered,
                DECRYPT)
    if name == "body not base64":
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="rootpw", keys=keys)},
                '{"a": 1}', DECRYPT)
    if name == "body without Keys":
        return ({"X-OCS-Header": v2.header_value(key, PING, auth="rootpw")},
                v2.encrypt_body(keys, b"{}"), DECRYPT)
    raise AssertionError(name)


CASES = ["missing header", "garbage header", "wrong key", "truncated header", "expired Ts",
         "far-future Ts", "numeric Ts", "Uri mismatch", "wrong root password",
         "agent header without agent password", "bad AES padding", "body not base64",
         "body without Keys"]


@pytest.mark.parametrize("name", CASES)
def test_security_failure(agent, key, other_key, name):
    headers, data, expected = _case(name, key, other_key)
    before = db_snapshot(agent)
    resp = _post(agent, headers, data)
    assert error_of(resp) == expected
    if expected[1].endswith("DecryptError"):
        assert resp.json()["error"]["message"] == "Unauthorized: request decryption failed"
    assert db_snapshot(agent) == before


def test_every_decrypt_failure_looks_the_same(agent, key, other_key):
    bodies = []
    for name in ["garbage header", "wrong key", "numeric Ts", "bad AES padding", "body without Keys"]:
        headers, data, _ = _case(name, key, other_key)
        resp = _post(agent, headers, data)
        body = resp.json()
        bodies.append((resp.status_code, json.dumps(body["error"], sort_keys=True),
                       tuple(sorted(k for k in resp.headers if k.lower() != "date"))))
    assert len(set(bodies)) == 1


def test_valid_request_passes_sdk_and_go_spelling(agent, key):
    headers, data = _valid(key)
    assert _post(agent, headers, data).json()["data"] == {"pong": True, "auth": "oceanbase"}
    headers, data = _valid(key, go_case=True, extra={"Token": "", "Sha256": "", "ForwardType": 0})
    headers["Content-Type"] = "application/json"
    resp = requests.get(agent.base_url + PING, headers=headers, data=data, timeout=30)
    assert resp.status_code == 200


def test_query_in_uri_matches(agent, key):
    uri = "/api/v1/admin/health?show_details=True"
    headers, _ = _valid(key, uri=uri)
    assert requests.get(agent.base_url + uri, headers=headers, timeout=30).status_code == 200


def test_replay_is_rejected_across_workers(agent, key):
    headers, data = _valid(key)
    before = db_snapshot(agent)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(agent, headers, data), range(12)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [401] * 11
    for resp in answers:
        if resp.status_code == 401:
            assert error_of(resp) == (401, "Security.Authentication.Replay", 10008)
    assert db_snapshot(agent) == before


def test_oversized_body_is_413(agent, key):
    headers, _ = _valid(key)
    resp = _post(agent, headers, "A" * (1024 * 1024 + 4))
    assert error_of(resp) == (413, "Request.Body.TooLarge", 0)


def test_flask_errors_are_envelopes(agent):
    assert error_of(requests.get(agent.base_url + PING + "/", timeout=5))[:2] == (
        404, "Common.NotFound")
    assert error_of(requests.get(agent.base_url + "/api/v1/info/", timeout=5))[:2] == (
        404, "Common.NotFound")
    assert error_of(requests.put(agent.base_url + "/api/v1/info", timeout=5))[:2] == (
        405, "Request.Method.NotSupport")


def test_trace_id_is_echoed_or_fresh(agent):
    echoed = requests.get(agent.base_url + "/api/v1/time",
                          headers={"X-OBSHELL-Trace-ID": "abc.DEF-1_2"}, timeout=5).json()
    assert echoed["traceId"] == "abc.DEF-1_2"
    fresh = requests.get(agent.base_url + "/api/v1/time",
                         headers={"X-OBSHELL-Trace-ID": "bad id"}, timeout=5).json()
    assert re.fullmatch(r"[0-9a-f]{16}", fresh["traceId"])


@pytest.mark.parametrize("path", ["/api/v1/info", "/api/v1/secret", "/api/v1/status",
                                  "/api/v1/time", "/healthz"])
def test_open_routes_ignore_garbage_headers(agent, path):
    resp = requests.get(agent.base_url + path, headers={"X-OCS-Header": "garbage"}, timeout=5)
    assert resp.status_code == 200


def test_access_log_holds_no_header_values(agent, key):
    headers, data = _valid(key)
    _post(agent, headers, data)
    log_dir = agent.state_dir / "log"
    text = "".join(p.read_text(errors="replace") for p in log_dir.iterdir())
    assert headers["X-OCS-Header"][:40] not in text and "rootpw" not in text


def test_an_oversized_chunked_body_is_413_too(agent, key):
    headers, _ = _valid(key)

    def chunks():  # no Content-Length: requests sends Transfer-Encoding: chunked
        for _ in range(64):
            yield b"A" * 65536

    resp = _post(agent, headers, chunks())
    assert error_of(resp) == (413, "Request.Body.TooLarge", 0)


@pytest.mark.parametrize("path", ["//api/v1/info", "/api//v1/info", "//api/v1/task/dag/11"])
def test_routes_match_exactly(agent, path):
    import http.client

    conn = http.client.HTTPConnection(IP, PORT, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert (resp.status, body["error"]["errCode"]) == (404, "Common.NotFound")
