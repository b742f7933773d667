"""Fixtures shared by the scale-out suites (each module defines its own `setup`)."""
import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.scaleout import ROOT_PASSWORD, Faults, release_cluster_lock


@pytest.fixture(scope="module")
def client(setup):
    """The unmodified obshell SDK pointed at the module's coordinator."""
    return ClientV1(setup.coordinator.ip, 2886, PasswordAuth(ROOT_PASSWORD))


@pytest.fixture
def idle_cluster(client):
    """The cluster lock is free when the test starts, and freed again whatever the test left."""
    release_cluster_lock(client)
    yield
    release_cluster_lock(client)


@pytest.fixture
def faults(setup, idle_cluster):
    """obemu faults for this test only: cleared on teardown, before the lock is released."""
    injected = Faults(setup.cluster.state_path)
    yield injected
    injected.clear_all()
