"""The open routes of wire spec §4, in process."""
import base64
import re

from Crypto.PublicKey import RSA

from app.node import identity as agent
from app.models import IDENTITY_CLUSTER_AGENT
from tests.support.fixtures import agent_key_pem, keyed_app, signed_client  # noqa: F401

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}([+-]\d\d:\d\d|Z)"
INFO_TYPES = {"identity": str, "version": str, "supportedAuth": list, "security": bool,
              "isObproxyAgent": bool, "ip": str, "port": int, "zone": str, "pid": int,
              "state": int, "startAt": int, "homePath": str, "obVersion": str, "architecture": str}


def test_info_fields_and_types(signed_client, keyed_app):
    data = signed_client.get("/api/v1/info").get_json()["data"]
    assert {k: type(v) for k, v in data.items()} == INFO_TYPES
    assert data["identity"] == "SINGLE" and data["supportedAuth"] == ["v2"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+(-.+)?", data["version"])
    assert data["security"] is False and data["isObproxyAgent"] is False
    assert data["homePath"] == keyed_app.config["HOME"] and data["obVersion"] == ""
    assert data["state"] == 2 and data["startAt"] > 1_600_000_000 * 10 ** 9
    assert data["architecture"] in ("x86_64", "aarch64")


def test_info_reports_security_and_zone(signed_client):
    agent.set_agent_password("pw")
    agent.set_identity(IDENTITY_CLUSTER_AGENT, zone="zone1", mysql_port=2881)
    data = signed_client.get("/api/v1/info").get_json()["data"]
    assert data["security"] is True and data["zone"] == "zone1"
    assert data["identity"] == "CLUSTER AGENT"


def test_serve_pid_and_start_time_come_from_config(tmp_path):
    from app import create_app

    app = create_app({"HOME": str(tmp_path), "SERVE_PID": 4242, "STARTED_AT_NS": 17})
    from app.node.status import serve_pid, started_at_ns

    assert serve_pid(app.config) == 4242 and started_at_ns(app.config) == 17


def test_secret_is_pkcs1_der_2048(signed_client):
    data = signed_client.get("/api/v1/secret").get_json()["data"]
    assert set(data) == {"ip", "port", "public_key"}
    der = base64.b64decode(data["public_key"], validate=True)
    assert RSA.import_key(der).size_in_bits() == 2048
    assert b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" not in der  # no SPKI algorithm OID


def test_status_has_both_spellings(signed_client):
    data = signed_client.get("/api/v1/status").get_json()["data"]
    assert isinstance(data["agent"], dict) and data["agent"]["identity"] == "SINGLE"
    assert data["start_at"] == data["startAt"] and data["under_maintenance"] is False
    assert data["underMaintenance"] is False and data["obState"] == 0
    assert "sqlPort" not in data


def test_status_sql_port_once_known(signed_client):
    agent.set_identity(IDENTITY_CLUSTER_AGENT, mysql_port=2881)
    assert signed_client.get("/api/v1/status").get_json()["data"]["sqlPort"] == 2881


def test_time_is_rfc3339(signed_client):
    assert re.fullmatch(RFC3339, signed_client.get("/api/v1/time").get_json()["data"])


def test_healthz_is_plain_json_without_internals(signed_client):
    resp = signed_client.get("/healthz")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == {"status": "ok"}
