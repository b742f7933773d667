"""Claim owners in a shared store: another agent's claim is judged only by its expiry."""
from __future__ import annotations

import os
from types import SimpleNamespace

from app.dag import claim


def _running(owner: str, expires_at: float) -> SimpleNamespace:
    return SimpleNamespace(claim_owner=owner, claim_expires_at=expires_at)


def test_owner_ids_name_the_agent_in_a_shared_store():
    assert claim.owner_id() == claim.owner_id("").split("@")[0]
    assert claim.owner_id("10.0.0.1:2886").endswith("@10.0.0.1:2886")


def test_a_dead_pid_of_another_agent_proves_nothing_here():
    other = "999999999:abcdef@10.0.0.2:2886"  # no such pid on this host, and not our agent
    assert claim.owner_dead(other, "10.0.0.1:2886") is False
    assert claim.claim_dead(_running(other, expires_at=200.0), now=100.0,
                            here="10.0.0.1:2886") is False
    assert claim.claim_dead(_running(other, expires_at=99.0), now=100.0,
                            here="10.0.0.1:2886") is True


def test_a_dead_process_of_this_agent_frees_its_claim_at_once():
    mine = "999999999:abcdef@10.0.0.1:2886"
    assert claim.owner_dead(mine, "10.0.0.1:2886") is True
    assert claim.owner_dead(claim.owner_id("10.0.0.1:2886"), "10.0.0.1:2886") is False
    assert claim.owner_dead(f"{os.getpid()}:other-token", "") is True  # a reused pid
