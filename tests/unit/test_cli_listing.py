"""app/cli/listing.py and the checks the new commands make before calling: members side by side,
DAG history, full stage logs, operators on ended DAGs, a scale-out into a new zone."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from app.cli import listing
from app.cli.client import ClientError
from app.cli.commands import scale_out
from tests.unit.test_cli_render import dag, node

LONG_LINE = "waiting: START_SERVICE_TIME is NULL for 12 s on 127.0.10.2:2882; " + "x" * 120
INFO = {
    "agent_info": [
        {"ip": "10.0.0.1", "port": 2886, "zone": "zone1", "identity": "CLUSTER AGENT",
         "version": "4.2.5.0"},
        {"ip": "10.0.0.3", "port": 2886, "zone": "zone2", "identity": "SCALING IN",
         "version": "4.2.5.0"}],
    "obcluster_info": {
        "id": 7, "name": "obdemo", "version": "4.2.5.0", "is_shared_storage": False,
        "topology": {"zone1": [
            {"svr_ip": "10.0.0.1", "svr_port": 2882, "sql_port": 2881, "agent_port": 2886,
             "status": "ACTIVE", "start_service_time": "2026-12-06T16:40:01.250000+00:00"},
            {"svr_ip": "10.0.0.2", "svr_port": 2882, "sql_port": 2881, "agent_port": 0,
             "status": "ACTIVE", "start_service_time": "0001-01-01T00:00:00Z"}]},
        "zones": [{"zone": "zone1", "status": "ACTIVE"}, {"zone": "zone3", "status": "ACTIVE"}]}}


def test_members_side_by_side():
    rows = listing.member_rows(INFO)
    assert [(r["zone"], r["server"], r["agent"], r["identity"]) for r in rows] == [
        ("zone1", "10.0.0.1:2882", "10.0.0.1:2886", "CLUSTER AGENT"),
        ("zone1", "10.0.0.2:2882", "-", "-"),
        ("zone3", "(no server)", "-", "-"),
        ("zone2", "(not a server)", "10.0.0.3:2886", "SCALING IN")]
    assert rows[0]["start service"] == "2026-12-06 16:40:01 UTC"
    assert rows[1]["start service"] == "-"
    text = "\n".join(listing.members_view(INFO, "10.0.0.1:2886"))
    assert text.startswith("cluster obdemo (id 7), OceanBase 4.2.5.0: 2 zone(s), 2 server(s), "
                           "2 agent(s)")
    assert "zone status" in text and "start service" in text and "version" in text


def test_members_of_an_agent_outside_a_cluster():
    single = {"agent_info": [{"ip": "10.0.0.9", "port": 2886, "identity": "SINGLE",
                              "version": "4.2.5.0"}],
              "obcluster_info": {"id": 0, "name": "", "topology": None, "zones": []}}
    assert listing.members_view(single, "10.0.0.9:2886") == [
        "10.0.0.9:2886 is SINGLE (version 4.2.5.0): not a member of a cluster"]


def test_zone_names_prefer_the_zone_list():
    assert listing.zone_names(INFO) == ["zone1", "zone3"]
    without = {"obcluster_info": {"topology": {"b": [], "a": []}}}
    assert listing.zone_names(without) == ["a", "b"]


def test_dag_list_marks_the_lock_holder_and_a_cut_list():
    dags = [dag("FAILED", holds_lock=True), dag("SUCCEED", data={"rolled_back": True},
                                                    operator="ROLLBACK")]
    lines = listing.dag_list_view("cluster DAGs", dags, limit=2)
    assert lines[0] == "cluster DAGs, newest first (the newest 2; --limit shows more):"
    failed, rolled_back = lines[1].splitlines()[1:]
    assert "failed" in failed and failed.rstrip().endswith("holds the lock")
    assert "rolled back" in rolled_back and "holds the lock" not in rolled_back
    assert listing.dag_list_view("local DAGs", [], 20) == ["local DAGs: none"]
    assert "newest first:" in listing.dag_list_view("x", dags, limit=3)[0]


def test_dag_logs_print_every_line_in_full():
    detail = dag(nodes=[node("Integrate server config", logs=["cluster ok"]),
                        node("Wait scale out ready", "FAILED", logs=["first", LONG_LINE])],
                 stage=2)
    text = listing.dag_logs_view(detail)
    assert f"    {LONG_LINE}" in text
    assert "stage 1/2  Integrate server config  SUCCEED/RUN" in text
    only = listing.dag_logs_view(detail, 2)
    assert "    cluster ok" not in only and "    first" in only
    assert any("on 127.0.0.60:2886, " in line for line in only)


@pytest.mark.parametrize("state, operator, data, asked, said, satisfied", [
    ("SUCCEED", "RUN", None, "RETRY", "DAG 11 already succeeded; nothing to retry", True),
    ("SUCCEED", "ROLLBACK", {"rolled_back": True}, "ROLLBACK",
     "DAG 11 already rolled back; nothing to roll back", True),
    ("SUCCEED", "RUN", None, "CANCEL", "DAG 11 already succeeded; nothing to cancel", False),
    ("SUCCEED", "PASS", {"passed": True}, "PASS", "DAG 11 already passed; nothing to pass", True),
    ("RUNNING", "RUN", None, "RETRY", "DAG 11 is running (stage 3/4); nothing to retry", True),
    ("RUNNING", "ROLLBACK", None, "ROLLBACK",
     "DAG 11 is rolling back already; nothing to roll back", True),
    ("RUNNING", "CANCEL", None, "CANCEL", "DAG 11 is being cancelled already; nothing to cancel",
     True),
])
def test_operator_on_a_dag_that_ended_or_does_it_already(state, operator, data, asked, said,
                                                         satisfied):
    message, done = listing.operator_verdict(dag(state, operator, data=data), asked)
    assert (message, done) == (said, satisfied)


def test_rollback_of_a_succeeded_dag_says_what_undoes_it():
    message, done = listing.operator_verdict(dag("SUCCEED"), "ROLLBACK")
    assert not done and message.startswith("DAG 11 already succeeded; nothing to roll back")
    assert "scale-in" in message


@pytest.mark.parametrize("state, operator, asked", [
    ("FAILED", "RUN", "RETRY"), ("FAILED", "RUN", "ROLLBACK"), ("FAILED", "ROLLBACK", "ROLLBACK"),
    ("RUNNING", "RUN", "CANCEL"), ("RUNNING", "RUN", "ROLLBACK")])
def test_operators_that_go_to_the_agent(state, operator, asked):
    assert listing.operator_verdict(dag(state, operator), asked) is None


class Answers:
    """Stands in for a Session: answers GET /api/v1/ob/info with INFO."""

    def call(self, method, path, *args, **kwargs):
        assert (method, path) == ("GET", "/api/v1/ob/info")
        return INFO


def test_a_new_zone_is_refused_without_a_terminal(monkeypatch):
    monkeypatch.setattr(scale_out, "stdin_is_terminal", lambda: False)
    with pytest.raises(ClientError) as refused:
        scale_out.confirm_new_zone(Answers(), "zone2", new_zone=False)
    assert refused.value.exit_code == 2
    assert str(refused.value.message) == ("zone zone2 does not exist (existing: zone1, zone3); "
                                          "pass --new-zone to create it, or choose an existing zone")


@pytest.mark.parametrize("zone, new_zone", [("zone1", False), ("ZONE3", False), ("zone2", True)])
def test_existing_zones_and_new_zone_pass(monkeypatch, zone, new_zone):
    monkeypatch.setattr(scale_out, "stdin_is_terminal", lambda: False)
    scale_out.confirm_new_zone(Answers(), zone, new_zone=new_zone)


@pytest.mark.parametrize("answer, aborted", [("y\n", False), ("n\n", True)])
def test_a_terminal_is_asked(monkeypatch, answer, aborted):
    monkeypatch.setattr(scale_out, "stdin_is_terminal", lambda: True)
    with CliRunner().isolation(input=answer) as streams:
        if aborted:
            with pytest.raises(click.Abort):
                scale_out.confirm_new_zone(Answers(), "zone2", new_zone=False)
        else:
            scale_out.confirm_new_zone(Answers(), "zone2", new_zone=False)
        asked = streams[0].getvalue().decode()
    assert asked.startswith("zone zone2 does not exist (existing: zone1, zone3); create it? [y/N]")


def test_the_cli_bounds_are_the_apis():
    from app.cli.commands.dag import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX
    from app.schemas.task import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT

    assert (LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX) == (DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
