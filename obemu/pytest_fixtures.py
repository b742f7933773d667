"""pytest fixtures around obemu.testing; import them into a conftest.py:

    from obemu.pytest_fixtures import obemu_fleet, obemu_home, obemu_cluster  # noqa: F401
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from obemu.testing import ClusterHandle, Fleet

__all__ = ["obemu_cluster", "obemu_fleet", "obemu_home"]


@pytest.fixture
def obemu_fleet(tmp_path: Path) -> Iterator[Fleet]:
    """A Fleet under tmp_path; everything it started is stopped by pid afterwards."""
    fleet = Fleet(tmp_path / "obemu")
    try:
        yield fleet
    finally:
        fleet.teardown()


@pytest.fixture
def obemu_home(obemu_fleet: Fleet) -> Path:
    """A home with bin/observer (the shim) and lib/, whose pid file teardown honours."""
    return obemu_fleet.observer_home()


@pytest.fixture
def obemu_cluster(obemu_fleet: Fleet) -> ClusterHandle:
    """A bootstrapped one-node cluster on 127.0.0.1:2881/2882 with a root password."""
    return obemu_fleet.start_cluster()
