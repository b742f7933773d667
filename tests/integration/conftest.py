"""Fixtures shared by the integration suites (scale-out modules define their own `setup`)."""
import pytest
import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.scaleout import ROOT_PASSWORD, Faults, release_cluster_lock


@pytest.fixture
def holds(tmp_path):
    """The folder the agents of a held_setup() look for hold files in."""
    folder = tmp_path / "holds"
    folder.mkdir()
    return folder


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


@pytest.fixture
def wire(monkeypatch) -> list[tuple[str, str, int]]:
    """(method, path, status) of every HTTP request this process sends, in the order sent.

    Read on the client side: an access log is written by several workers, each after its
    answer, so its lines may come late and out of order.
    """
    sent: list[tuple[str, str, int]] = []
    real_send = requests.Session.send

    def send(session, request, **kwargs):
        response = real_send(session, request, **kwargs)
        sent.append((request.method, request.path_url, response.status_code))
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return sent
