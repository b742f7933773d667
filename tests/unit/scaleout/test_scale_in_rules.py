"""The scale-in's refusals before anything is created, and its bodies (spec: issue 13).

The cluster checks run on an in-thread obemu cluster (127.0.11.50-53): zone1 with two servers
(the first holds the sys tenant's unit), zone2 with one."""
from __future__ import annotations

from pathlib import Path

import pytest
from marshmallow import ValidationError

from app.errors import ApiError
from app.ob.connection import session
from app.ob import sql
from app.schemas.scale_in import scale_in_request_schema, scale_in_rpc_schema
from app.scalein.service import ScaleInRequest, _check_cluster, from_body
from obemu import admin
from obemu.client import bootstrap
from obemu.testing import Fleet

CONFIG = {"OB_CONNECT_TIMEOUT_S": 2, "OB_READ_TIMEOUT_S": 5, "OB_TLS": False}
PASSWORD = "pw"
ENV = {"OBEMU_LEASE_S": "1.0", "OBEMU_DELETE_DELAY_S": "0.3"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    fleet = Fleet(Path(tmp_path_factory.mktemp("scalein-rules")) / "obemu")
    try:
        first = fleet.observer("127.0.11.50", cluster="rules", env=ENV)
        second = fleet.observer("127.0.11.51", cluster="rules", zone="zone1", env=ENV)
        third = fleet.observer("127.0.11.52", cluster="rules", zone="zone2", env=ENV)
        bootstrap(first.ip, first.mysql_port, first.rpc_port, "zone1", PASSWORD)
        with session(first.ip, first.mysql_port, PASSWORD, CONFIG) as conn:
            sql.add_server(conn, second.ip, second.rpc_port, "zone1")
            sql.add_zone(conn, "zone2")
            sql.start_zone(conn, "zone2")
            sql.add_server(conn, third.ip, third.rpc_port, "zone2")
        yield first, {node.ip: node.rpc_port for node in (first, second, third)}
    finally:
        fleet.teardown()


def check(first, ip: str, zone: str, rpc_port: int = 2882) -> None:
    with session(first.ip, first.mysql_port, PASSWORD, CONFIG) as conn:
        row = sql.server_row(conn, ip, rpc_port)
        _check_cluster(conn, ScaleInRequest(ip, 2886, False, False), row, zone, rpc_port)


@pytest.mark.parametrize("ip, zone, units_in, refused", [
    ("127.0.11.51", "zone1", None, None),              # zone1 keeps 127.0.11.50
    ("127.0.11.52", "zone2", None, None),              # zone2 holds no unit
    ("127.0.11.52", "zone2", "zone2", "OB.Cluster.ScaleInZoneKeepsUnits"),
    ("127.0.11.53", "zone2", None, None),              # not in the cluster: nothing to check
])
def test_cluster_refusals(cluster, ip, zone, units_in, refused):
    first, ports = cluster
    if units_in:
        admin.add_unit(first.state_path, units_in)
    try:
        if refused is None:
            check(first, ip, zone, ports.get(ip, 2882))
        else:
            with pytest.raises(ApiError) as caught:
                check(first, ip, zone, ports[ip])
            assert (caught.value.err_code, caught.value.status) == (refused, 400)
            assert "4624" in caught.value.message and zone in caught.value.message
    finally:
        admin.remove_units(first.state_path)


def test_the_last_server_is_refused(tmp_path):
    fleet = Fleet(tmp_path / "obemu")
    try:
        only = fleet.observer("127.0.11.53", cluster="rules1", env=ENV)
        bootstrap(only.ip, only.mysql_port, only.rpc_port, "zone1", PASSWORD)
        with pytest.raises(ApiError) as caught:
            check(only, only.ip, "zone1", only.rpc_port)
        assert caught.value.err_code == "OB.Cluster.ScaleInLastServer"
        assert "scale another server out first" in caught.value.message
    finally:
        fleet.teardown()


def test_request_body_is_snake_case_and_tolerant():
    body = scale_in_request_schema.load({"agent_info": {"ip": "10.0.0.4", "port": 2886},
                                         "force_kill": True, "newer_key": 1})
    req = from_body(body)
    assert (req.ip, req.port, req.force_kill, req.remove_data) == ("10.0.0.4", 2886, True, False)


@pytest.mark.parametrize("body, code", [
    ({"agent_info": {"ip": "host.example", "port": 2886}}, "Common.InvalidIp"),
    ({"agent_info": {"ip": "10.0.0.4", "port": 70000}}, "Common.InvalidPort"),
])
def test_request_body_refusals(body, code):
    with pytest.raises(ApiError) as caught:
        from_body(scale_in_request_schema.load(body))
    assert caught.value.err_code == code


@pytest.mark.parametrize("body", [
    {"action": "begin"},
    {"action": "stop", "coordinateDagId": "11", "allAgents": []},
    {"action": "begin", "coordinateDagId": "11", "allAgents": [], "extra": 1},
    {"action": "begin", "coordinateDagId": "", "allAgents": []},
])
def test_rpc_body_is_strict(body):
    with pytest.raises(ValidationError):
        scale_in_rpc_schema.load(body)
