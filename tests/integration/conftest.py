"""Fixtures shared by the scale-out suites (each module defines its own `setup`)."""
import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.scaleout import ROOT_PASSWORD


@pytest.fixture(scope="module")
def client(setup):
    """The unmodified obshell SDK pointed at the module's coordinator."""
    return ClientV1(setup.coordinator.ip, 2886, PasswordAuth(ROOT_PASSWORD))
