"""`obscale takeover`: the first agent of a running cluster becomes its CLUSTER AGENT."""
from __future__ import annotations

import sqlite3

import pytest
from obemu.pytest_fixtures import obemu_fleet  # noqa: F401  (pytest fixture)

from tests.support.scaleout import ROOT_PASSWORD, takeover

pytestmark = pytest.mark.integration
IP = "127.0.0.111"


def agent_row(home) -> tuple | None:
    path = home / "obscale" / "obscale.db"
    if not path.exists():
        return None
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT identity, zone, cluster_name, cluster_id, mysql_port, rpc_port, "
                            "root_password_enc IS NOT NULL FROM agent_state").fetchone()
    finally:
        conn.close()


@pytest.fixture
def cluster(obemu_fleet):
    return obemu_fleet.start_cluster(IP, root_password=ROOT_PASSWORD, zone="zone1",
                                     cluster="obtake", cluster_id=9)


def test_takeover_records_the_cluster(cluster):
    result = takeover(cluster.home, IP, cluster.env)
    assert result.returncode == 0, result.stderr
    assert "CLUSTER AGENT of cluster obtake (id 9), zone zone1" in result.stdout
    assert agent_row(cluster.home) == ("CLUSTER AGENT", "zone1", "obtake", 9, 2881, 2882, 1)
    assert ROOT_PASSWORD not in result.stdout + result.stderr


def test_wrong_password_changes_nothing(cluster):
    result = takeover(cluster.home, IP, cluster.env, password="not-the-password")
    assert result.returncode != 0
    assert "IncorrectOceanbasePassword" in result.stderr
    assert agent_row(cluster.home) in (None, ("SINGLE", "", "", 0, 0, 0, 0))


def test_no_live_observer(obemu_fleet, tmp_path):
    home = obemu_fleet.observer_home(tmp_path / "idle")
    result = takeover(home, IP, {})
    assert result.returncode != 0
    assert "no live observer" in result.stderr


def test_server_missing_from_the_cluster(obemu_fleet, cluster):
    spare = obemu_fleet.start_spare("127.0.0.112", "zone1", cluster=cluster)
    # A node that is not a member still takes an empty root password, as a fresh observer does.
    result = takeover(spare.home, "127.0.0.112", spare.env, password="")
    assert result.returncode != 0
    assert "DBA_OB_SERVERS has 0 row(s) for 127.0.0.112" in result.stderr
    assert agent_row(spare.home) in (None, ("SINGLE", "", "", 0, 0, 0, 0))
