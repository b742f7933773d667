"""app/cli_render.py: outcomes, progress lines, reports and tables from DAG data."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.cli import render

START = "2026-01-01T10:00:00.000000+00:00"


def node(name, state="SUCCEED", operator="RUN", logs=(), ip="127.0.0.60"):
    task = {"state": state, "task_logs": list(logs), "execute_agent": {"ip": ip, "port": 2886}}
    return {"name": name, "state": state, "operator": operator, "sub_tasks": [task]}


def dag(state="RUNNING", operator="RUN", stage=3, nodes=None, max_stage=None, **extra):
    nodes = nodes if nodes is not None else [
        node("Integrate server config", logs=["cluster ok"]),
        node("Create local scale out dag"),
        node("Wait scale out ready", "RUNNING", logs=["waiting: target is RUNNING"]),
        node("Add server for scale_out", "PENDING")]
    return {"id": "11", "name": "Cluster scale out", "state": state, "operator": operator,
            "stage": stage, "max_stage": max_stage or len(nodes), "start_time": START,
            "end_time": render.UNSET_TIME, "additional_data": extra.pop("data", None),
            "nodes": nodes, **extra}


@pytest.mark.parametrize("state, operator, data, expected", [
    ("SUCCEED", "RUN", None, "succeeded"),
    ("SUCCEED", "ROLLBACK", {"rolled_back": True}, "rolled back"),
    ("SUCCEED", "RUN", {"rolled_back": True}, "rolled back"),
    ("SUCCEED", "PASS", {"passed": True}, "passed"),
    ("FAILED", "RUN", None, "failed"),
    ("FAILED", "CANCEL", None, "cancelled"),
    ("FAILED", "ROLLBACK", None, "rollback failed"),
    ("RUNNING", "RUN", None, "running"),
    ("READY", "ROLLBACK", None, "running"),
])
def test_outcome(state, operator, data, expected):
    assert render.outcome(dag(state, operator, data=data)) == expected


@pytest.mark.parametrize("done, total, width, expected", [
    (0, 9, 9, "[.........]"), (9, 9, 9, "[#########]"), (3, 9, 9, "[###......]"),
    (12, 9, 4, "[####]"), (1, 0, 4, "[....]"),
])
def test_bar(done, total, width, expected):
    assert render.bar(done, total, width) == expected


@pytest.mark.parametrize("seconds, expected", [(12.34, "12.3s"), (125, "2m05s"),
                                                (3725, "1h02m"), (0, "0.0s")])
def test_format_elapsed(seconds, expected):
    assert render.format_elapsed(seconds) == expected


def test_elapsed_seconds_from_start_to_end_or_now():
    now = datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone.utc)
    assert render.elapsed_seconds(dag(), now) == 5.0
    assert render.elapsed_seconds(dag(end_time="2026-01-01T10:00:02Z"), now) == 2.0
    assert render.elapsed_seconds(dag(start_time=render.UNSET_TIME), now) is None
    assert render.elapsed_seconds(dag(start_time="garbage"), now) is None


def test_progress_line_shows_bar_stage_log_and_time():
    line = render.progress_line(dag(), 4.25)
    assert line.startswith("[##########..........] 2/4 4.2s running")
    assert "stage 3: Wait scale out ready | waiting: target is RUNNING" in line


def test_progress_line_hides_the_log_of_a_stage_that_is_not_running():
    retried = dag("READY", nodes=[node("A"), node("B", "PENDING", "RETRY", logs=["old error"])],
                  stage=2)
    line = render.progress_line(retried, 0.0)
    assert "stage 2: B" in line and "old error" not in line


def test_progress_while_rolling_back_counts_undone_stages():
    nodes = [node("A", "PENDING", "ROLLBACK"), node("B", "RUNNING", "ROLLBACK"),
             node("C", "SUCCEED", "ROLLBACK"), node("D", "PENDING")]
    line = render.progress_line(dag("RUNNING", "ROLLBACK", stage=2, nodes=nodes), 1.0)
    assert " 1/3 " in line and "rolling back stage 2: B" in line


def test_final_report_of_a_success():
    done = dag("SUCCEED", stage=4, end_time="2026-01-01T10:00:03Z",
               nodes=[node(name) for name in "ABCD"])
    assert render.final_report(done, "a:1", None) == [
        "DAG 11 'Cluster scale out' succeeded in 3.0s: 4/4 stages done."]


def test_a_rolled_back_dag_is_not_reported_as_a_success():
    text = " ".join(render.final_report(dag("SUCCEED", "ROLLBACK", stage=1,
                                            data={"rolled_back": True}), "a:1", None))
    assert "rolled back" in text and "rolled_back=true" in text
    assert "nothing was scaled out" in text and "succeeded" not in text


@pytest.mark.parametrize("name, words", [("Cluster scale in", "stay in the cluster"),
                                         ("Delete zone", "the zone is back")])
def test_a_rolled_back_scale_in_or_zone_removal_says_what_stayed(name, words):
    rolled_back = dict(dag("SUCCEED", "ROLLBACK", stage=1, data={"rolled_back": True}), name=name)
    text = " ".join(render.final_report(rolled_back, "a:1", None))
    assert words in text and "scaled out" not in text


def test_a_passed_dag_says_so():
    text = " ".join(render.final_report(dag("SUCCEED", "PASS", data={"passed": True}), "a:1", None))
    assert "passed=true" in text and "not run" in text


def failed_dag(operator="RUN"):
    nodes = [node("A"), node("Add server", "FAILED", logs=["checking", "MySQL error 4179: no"]),
             node("C", "PENDING")]
    return dag("FAILED", operator, stage=2, nodes=nodes)


def test_failure_report_names_the_stage_its_logs_and_the_exact_commands():
    lines = render.final_report(failed_dag(), "127.0.0.60:2886", "OB_PW")
    assert lines[0] == "DAG 11 'Cluster scale out' failed at stage 2/3: Add server"
    assert "  127.0.0.60:2886 MySQL error 4179: no" in lines
    assert "  obscale dag retry 11 --agent 127.0.0.60:2886 --password-env OB_PW --wait" in lines
    assert "  obscale dag rollback 11 --agent 127.0.0.60:2886 --password-env OB_PW --wait" in lines


def test_failure_report_without_password_env_and_after_a_failed_rollback():
    lines = render.final_report(failed_dag("ROLLBACK"), "h:1", None)
    assert lines[0].startswith("DAG 11 'Cluster scale out' rollback failed at stage 2/3")
    assert not any("dag retry" in line for line in lines)
    assert "  obscale dag rollback 11 --agent h:1 --wait" in lines


def test_dag_view_lists_stages_flags_and_failed_logs():
    lines = render.dag_view(failed_dag())
    assert lines[0] == "DAG 11  Cluster scale out"
    assert "state     FAILED/RUN (failed)" in lines
    text = "\n".join(lines)
    assert "Add server" in text and "MySQL error 4179: no" in text
    assert "logs of the failed stage 'Add server':" in lines
    rolled = render.dag_view(dag("SUCCEED", "ROLLBACK", data={"rolled_back": True, "x": 1}))
    assert "flags     rolled_back=true" in rolled


def test_checks_view_verdicts():
    checks = [{"name": "ports", "status": "pass", "observed": "free", "required": "free",
               "hint": ""}, {"name": "clock", "status": "warn", "observed": "0.2 s",
                             "required": "< 0.1 s", "hint": "ntp"}]
    assert render.checks_view({"passed": True, "checks": checks})[-1] == \
        "precheck passed: 2 checks, 1 warning(s)"
    checks.append({"name": "disk", "status": "fail", "observed": "1G", "required": "2G"})
    lines = render.checks_view({"passed": False, "checks": checks})
    assert lines[-1] == "precheck FAILED: disk" and "ntp" in lines[0]


def test_table_aligns_columns_and_blanks_none():
    text = render.table([{"a": "x", "bb": None}, {"a": "long", "bb": 2}])
    assert text.splitlines() == ["a     bb", "x", "long  2"]
    assert render.table([], ["a", "b"]) == "a  b"


@pytest.mark.parametrize("code, fragment", [
    ("Security.Authentication.IncorrectOceanbasePassword", "--password-env"),
    ("OB.Cluster.UnderMaintenanceWithDag", "cluster lock"),
    ("Task.Dag.Operator.RetryNotFailedDag", "not FAILED"),
    ("Agent.Identify.NotSupportOperation", "CLUSTER AGENT"),
])
def test_error_hints(code, fragment):
    assert fragment in render.error_hint(code)


def test_no_hint_for_an_unknown_code():
    assert render.error_hint("Common.Whatever") == ""


def test_sandbox_usage_never_prints_the_password():
    sandbox = {"dir": "/tmp/sb", "cluster": {"name": "obsandbox", "id": 1, "mysql_ip": "127.0.0.60",
                                             "mysql_port": 2881, "zone": "zone1",
                                             "root_password": "s3cret-Pw"},
               "agents": [{"ip": "127.0.0.60", "port": 2886, "identity": "CLUSTER AGENT"},
                          {"ip": "127.0.0.61", "port": 2886, "identity": "SINGLE"},
                          {"ip": "127.0.0.62", "port": 2886, "identity": "SINGLE"}]}
    text = "\n".join(render.sandbox_usage(sandbox))
    assert "s3cret-Pw" not in text
    assert "/tmp/sb/sandbox.json" in text and "obscale sandbox password --dir /tmp/sb" in text
    assert ("obscale scale-out --agent 127.0.0.60:2886 --target 127.0.0.61:2886 --zone zone1 "
            "--password-env OB_ROOT_PASSWORD --wait") in text
    assert "client.scale_out('127.0.0.62', 2886, 'zone2'" in text


def test_a_held_cluster_lock_hint_names_the_command_for_the_holder():
    message = ("Create task 'Cluster scale out' failed: OceanBase cluster is under maintenance by "
               "DAG 112 (Cluster scale out, RUNNING), please try again later")
    hint = render.error_hint("OB.Cluster.UnderMaintenanceWithDag", message, "127.0.0.9:2886")
    assert "`obscale dag show 112 --agent 127.0.0.9:2886`" in hint
