"""Identity helpers: snapshot, compare-and-set, membership, passwords at rest."""
import pytest

from app.node import identity as agent
from app.db import database
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, IDENTITY_SINGLE, AgentState
from app.security import keystore


@pytest.fixture
def store(app):
    keystore.forget()
    return keystore.open_keystore(app.config["KEY_FILE"])


def _row():
    with database.connection_context():
        return AgentState.get(AgentState.id == 1)


def test_a_new_agent_is_single(app):
    me = agent.get_identity()
    assert me.identity == IDENTITY_SINGLE and me.zone == "" and me.cluster_id == 0
    assert not me.has_root_password and not me.has_agent_password


def test_set_identity_with_membership(app):
    assert agent.set_identity(IDENTITY_CLUSTER_AGENT, zone="zone1", cluster_name="c1",
                              cluster_id=7, mysql_port=2881, rpc_port=2882)
    me = agent.get_identity()
    assert (me.identity, me.zone, me.cluster_name, me.cluster_id, me.mysql_port, me.rpc_port) == \
        (IDENTITY_CLUSTER_AGENT, "zone1", "c1", 7, 2881, 2882)


def test_set_identity_compare_and_set(app):
    assert agent.set_identity(IDENTITY_SCALING_OUT, expect_identity=IDENTITY_SINGLE, zone="z2")
    assert not agent.set_identity(IDENTITY_SCALING_OUT, expect_identity=IDENTITY_SINGLE, zone="z3")
    assert agent.get_identity().zone == "z2"


@pytest.mark.parametrize("identity,fields", [("MASTER", {}), ("single", {}),
                                             (IDENTITY_SINGLE, {"root_password_enc": "x"})])
def test_set_identity_rejects_unknown_values(app, identity, fields):
    with pytest.raises((ValueError, TypeError)):
        agent.set_identity(identity, **fields)


def test_root_password_is_encrypted_at_rest(app, store):
    agent.set_root_password("s3cret-root", store)
    assert "s3cret-root" not in (_row().root_password_enc or "")
    assert agent.get_root_password() == "s3cret-root"
    assert agent.get_identity().has_root_password
    agent.clear_root_password()
    assert agent.get_root_password() is None


def test_agent_password_is_hashed(app):
    agent.set_agent_password("agent-pw")
    assert "agent-pw" not in _row().agent_password_hash
    assert agent.verify_agent_password("agent-pw") and not agent.verify_agent_password("x")
    assert agent.get_identity().has_agent_password
    agent.clear_agent_password()
    assert not agent.verify_agent_password("agent-pw")
    with pytest.raises(ValueError):
        agent.set_agent_password("")


def test_clear_cluster_membership_keeps_the_agent_password(app, store):
    agent.set_identity(IDENTITY_CLUSTER_AGENT, zone="z", cluster_name="c", cluster_id=1,
                       mysql_port=1, rpc_port=2)
    agent.set_root_password("r", store)
    agent.set_agent_password("a")
    agent.clear_cluster_membership()
    me = agent.get_identity()
    assert (me.identity, me.zone, me.cluster_name, me.cluster_id, me.mysql_port) == \
        (IDENTITY_SINGLE, "", "", 0, 0)
    assert not me.has_root_password and me.has_agent_password


def test_helpers_work_inside_an_outer_transaction(app):
    with database.connection_context(), database.atomic("IMMEDIATE"):
        agent.set_identity(IDENTITY_SCALING_OUT, zone="z9")
    assert agent.get_identity().zone == "z9"
