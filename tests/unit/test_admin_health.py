"""GET /api/v1/admin/health: components, overall status and HTTP code."""
import os
import socket
from pathlib import Path

import pytest

from app.node import health
from app.node import identity as agent
from app.models import IDENTITY_CLUSTER_AGENT
from app.process.heartbeat import write_heartbeat
from app.taskqueue import make_queue
from tests.support.fixtures import (Signer, agent_key_pem, keyed_app, signed_client,  # noqa: F401
                                    signer)

URI = "/api/v1/admin/health"


@pytest.fixture
def queue_file(keyed_app):
    """A real queue file with a fresh heartbeat in it (as the consumer would write)."""
    queue = make_queue(keyed_app.config["QUEUE_DATABASE"])
    write_heartbeat(queue)
    return queue


def _get(client, signer):
    headers, _ = signer.request(URI)
    return client.get(URI, headers=headers)


def test_healthy_single_agent(signed_client, signer, queue_file):
    resp = _get(signed_client, signer)
    assert resp.status_code == 200
    report = resp.get_json()["data"]
    parts = report["components"]
    assert set(parts) == {"database", "queue", "keyStore", "disk", "observer", "identity",
                          "exposure"}
    assert parts["exposure"] == {"status": "ok"}  # the unit app serves 127.0.0.1
    assert parts["database"]["writeLatencyMs"] >= 0
    assert parts["queue"]["pending"] == 0 and 0 <= parts["queue"]["heartbeatAgeS"] < 60
    assert parts["keyStore"] == {"status": "ok", "bits": 2048, "mode": "0600"}
    assert parts["observer"]["expected"] is False
    assert parts["identity"]["identity"] == "SINGLE"
    assert report["status"] == "ok" and all(p["status"] == "ok" for p in parts.values())


def test_missing_heartbeat_is_degraded(signed_client, signer):
    resp = _get(signed_client, signer)
    report = resp.get_json()["data"]
    assert resp.status_code == 200 and report["status"] == "degraded"
    assert report["components"]["queue"]["heartbeatAgeS"] is None


def test_pending_tasks_are_counted(keyed_app, queue_file):
    queue_file.storage.enqueue(b"payload")
    assert health.check_queue(keyed_app.config)["pending"] == 1


def test_cluster_agent_without_observer_is_degraded(signed_client, signer, queue_file):
    agent.set_identity(IDENTITY_CLUSTER_AGENT, zone="z1", mysql_port=1)
    from app.security.middleware import app_keystore

    with signed_client.application.app_context():
        agent.set_root_password("", app_keystore())
    part = _get(signed_client, signer).get_json()["data"]["components"]["observer"]
    assert part["expected"] is True and part["status"] == "degraded" and part["pid"] is None


def test_running_observer_with_open_sql_port_is_ok(keyed_app, queue_file):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    run = Path(keyed_app.config["HOME"]) / "run"
    run.mkdir()
    (run / "observer.pid").write_text(str(os.getpid()))
    try:
        agent.set_identity(IDENTITY_CLUSTER_AGENT, mysql_port=port)
        part = health.check_observer(keyed_app.config, agent.get_identity())
    finally:
        listener.close()
    assert part == {"status": "ok", "expected": True, "pid": os.getpid(), "sqlPort": port,
                    "sqlPortReachable": True}


def test_exposed_key_file_is_down_and_503(signed_client, signer, keyed_app):
    # Open the key store first: the request itself must still verify.
    _get(signed_client, signer)
    os.chmod(keyed_app.config["KEY_FILE"], 0o644)
    resp = _get(signed_client, signer)
    body = resp.get_json()
    assert resp.status_code == 503 and body["successful"] is False
    assert body["error"]["errCode"] == "Admin.Health.Down"
    assert body["error"]["message"] == "Agent health is down: keyStore"


def test_low_disk_is_degraded(keyed_app):
    config = dict(keyed_app.config, HEALTH_DISK_MIN_FREE_MB=10 ** 12)
    assert health.check_disk(config)["status"] == "degraded"


def test_overall_is_the_worst_component():
    report = {"components": {"a": {"status": "ok"}, "b": {"status": "down"}}}
    assert health.down_components(report) == ["b"]


def test_a_non_loopback_agent_without_agent_password_is_degraded(app):
    from app.node import identity as agent
    from app.node.health import check_exposure

    with app.app_context():
        me = agent.get_identity()
    report = check_exposure({"IP": "10.1.2.3", "PORT": 2886}, me)
    assert report["status"] == "degraded"
    assert "10.1.2.3:2886 without an agent password" in report["warning"]
    assert check_exposure({"IP": "127.0.0.1", "PORT": 2886}, me) == {"status": "ok"}
