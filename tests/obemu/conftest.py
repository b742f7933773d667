"""Fixtures for obemu's own suite. Addresses 127.0.1.x keep clear of other suites' 127.0.0.x."""
from __future__ import annotations

import pytest

from obemu.client import bootstrap
from obemu.pytest_fixtures import obemu_fleet  # noqa: F401  (pytest fixture)
from obemu.testing import Fleet, Observer

FAST_ENV = {"OBEMU_LEASE_S": "1.0", "OBEMU_DELETE_DELAY_S": "0.3"}
ROOT_PASSWORD = "s3cret'pw"


@pytest.fixture
def fleet(obemu_fleet: Fleet) -> Fleet:
    """The fleet with a short lease and delete delay for every node it starts."""
    obemu_fleet.env.update(FAST_ENV)
    return obemu_fleet


@pytest.fixture
def node(fleet: Fleet) -> Observer:
    """A bootstrapped in-thread node on 127.0.1.100 (zone1) with ROOT_PASSWORD set."""
    first = fleet.observer("127.0.1.100", env=FAST_ENV)
    bootstrap(first.ip, first.mysql_port, first.rpc_port, "zone1", ROOT_PASSWORD)
    return first


@pytest.fixture
def conn(node: Observer):
    """A root connection to `node`."""
    connection = node.connect(password=ROOT_PASSWORD)
    yield connection
    connection.close()


@pytest.fixture
def spare(fleet: Fleet, node: Observer):
    """Factory: an in-thread node of node's cluster that is not added."""
    def make(ip: str, zone: str = "zone2", **kwargs) -> Observer:
        kwargs.setdefault("env", FAST_ENV)
        return fleet.observer(ip, zone=zone, state_path=node.state_path, **kwargs)
    return make
