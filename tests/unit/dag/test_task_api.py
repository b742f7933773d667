"""The task API routes: DTO shapes, show_details, generic ids, maintenance and list getters."""
import re

import pytest

from tests.support.engine_proxy import engine
from app.dag.dto import UNSET_TIME
from app.dag.ids import encode_local
from app.node import dag_access
from tests.support import dag_templates as templates
from tests.unit.dag.conftest import create, reload

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}([+-]\d\d:\d\d|Z)$")
STATUS_KEYS = ("state", "operator", "start_time", "end_time")


def data(resp):
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def error(resp, status, err_code):
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["error"]["message"] if resp.get_json()["error"]["errCode"] == err_code \
        else pytest.fail(f"got {resp.get_json()['error']}")


def local_id(dag_app, obj_id):
    return encode_local(obj_id, dag_app.config["IP"], dag_app.config["PORT"])


def test_get_dag_with_details_has_every_mandatory_field(api, files):
    dag = create(templates.LINEAR, files.params(nodes={"2": {"fail_until": "/none"}}))
    body = data(api.get(f"/dag/1{dag.id}"))
    assert (body["state"], body["operator"], body["stage"]) == ("FAILED", "RUN", 2)
    assert body["additional_data"] == {"nodes": [1]}
    for node in body["nodes"]:
        assert all(TIME.match(node[k]) or node[k] == UNSET_TIME for k in STATUS_KEYS[2:])
        assert node["additional_data"] is None
        for sub_task in node["sub_tasks"]:
            assert set(STATUS_KEYS) <= set(sub_task)
            assert isinstance(sub_task["execute_agent"], dict)
            assert isinstance(sub_task["task_logs"], list)
            assert sub_task["additional_data"] is None
    failed = body["nodes"][1]["sub_tasks"][0]
    assert failed["task_logs"][-1] == "marker none is missing"
    assert failed["execute_agent"] == {"ip": "127.0.0.1", "port": 2886}
    pending = body["nodes"][2]["sub_tasks"][0]
    assert (pending["execute_agent"], pending["task_logs"], pending["execute_times"]) == (
        {"ip": "", "port": 0}, [], 0)
    assert pending["start_time"] == UNSET_TIME


@pytest.mark.parametrize("value,details", [
    ("True", True), ("False", False), ("true", True), ("1", True), ("0", False), ("t", True),
    ("F", False)])
def test_show_details_values(api, files, value, details):
    dag = create(templates.LINEAR, files.params())
    body = data(api.get(f"/dag/1{dag.id}", show_details=value))
    assert (body["nodes"] is not None) is details


def test_show_details_rejects_other_values(api, files):
    dag = create(templates.LINEAR, files.params())
    error(api.get(f"/dag/1{dag.id}", show_details="maybe"), 400, "Common.IllegalArgument")


@pytest.mark.parametrize("raw,status,err_code", [
    ("19999", 404, "Task.NotFound"), ("1", 400, "Task.GenericID.Invalid"),
    ("2123", 400, "Task.GenericID.Invalid"), ("101", 404, "Task.NotFound"),
    ("4123", 404, "Task.NotFound"), ("abc", 400, "Task.GenericID.Invalid")])
def test_bad_ids(api, files, raw, status, err_code):
    create(templates.LINEAR, files.params())
    for path in (f"/dag/{raw}", f"/node/{raw}", f"/sub_task/{raw}", f"/sub_task/{raw}/logs"):
        error(api.get(path), status, err_code)


def test_scope_rules_for_generic_ids(api, dag_app, files, monkeypatch):
    cluster = create(templates.LINEAR, files.params())
    local = create(templates.LOCAL, files.params())
    assert data(api.get(f"/dag/{local_id(dag_app, local.id)}"))["name"] == "Test local"
    error(api.get(f"/dag/1{local.id}"), 404, "Task.NotFound")
    error(api.get(f"/dag/{local_id(dag_app, cluster.id)}"), 404, "Task.NotFound")
    other = encode_local(local.id, "127.0.0.29", 2886)
    error(api.get(f"/dag/{other}"), 404, "Task.NotFound")
    monkeypatch.setattr(dag_access, "_identity", lambda: "SCALING OUT")
    error(api.get(f"/dag/1{cluster.id}"), 404, "Task.NotFound")
    assert data(api.get(f"/dag/{local_id(dag_app, local.id)}"))["dag_id"] == local.id


def test_node_and_sub_task_getters(api, files):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"waits": 1, "wait_delay": 60}}))
    node = data(api.get(f"/dag/1{dag.id}"))["nodes"][0]
    got = data(api.get(f"/node/{node['id']}"))
    assert got["node_id"] == node["node_id"] and got["additional_data"] == {}
    assert len(got["sub_tasks"]) == 1
    bare = data(api.get(f"/node/{node['id']}", show_details="False"))
    assert (bare["sub_tasks"], bare["additional_data"]) == (None, None)
    sub_task = data(api.get(f"/sub_task/{node['sub_tasks'][0]['id']}"))
    assert sub_task["state"] == "RUNNING" and sub_task["task_logs"] == ["waiting: check 1"]
    assert sub_task["additional_data"] is None
    logs = data(api.get(f"/sub_task/{sub_task['id']}/logs"))["contents"]
    assert [entry["log_content"] for entry in logs] == ["waiting: check 1"]
    entry = logs[0]
    assert set(entry) == {"id", "sub_task_id", "execute_times", "log_content", "is_sync",
                          "create_time", "update_time"}
    assert entry["sub_task_id"] == sub_task["task_id"] and TIME.match(entry["create_time"])


def test_sub_task_shows_its_own_additional_data(api, files):
    dag = create(templates.LINEAR, files.params(stages=1))
    node = data(api.get(f"/dag/1{dag.id}"))["nodes"][0]
    assert data(api.get(f"/sub_task/{node['sub_tasks'][0]['id']}"))["additional_data"] == {
        "nodes": [1]}


def test_maintenance_getters(api, dag_app, files):
    error(api.get("/dag/maintain/agent"), 404, "Task.NotFound")
    assert error(api.get("/dag/maintain/ob"), 404, "Task.NotFound") == \
        "Task not found: Cluster is not under maintenance"
    assert data(api.get("/dag/maintain/agents")) == {"contents": []}
    create(templates.PLAIN, files.params())
    cluster = create(templates.LINEAR, files.params())
    local = create(templates.LOCAL, files.params())
    assert data(api.get("/dag/maintain/agent"))["dag_id"] == local.id
    hybrid = data(api.get("/dag/maintain/ob", show_details="False"))
    assert hybrid["dag_id"] == cluster.id and hybrid["nodes"] is None
    assert [d["dag_id"] for d in hybrid["contents"]] == [cluster.id]
    agents = data(api.get("/dag/maintain/agents"))["contents"]
    assert [d["id"] for d in agents] == [local_id(dag_app, local.id)]


def test_unfinished_lists(api, files, monkeypatch):
    for path in ("/dag/unfinish", "/dag/ob/unfinish", "/dag/agent/unfinish"):
        assert data(api.get(path)) == {"contents": []}
    failing = {"nodes": {"1": {"fail_until": "/none"}}}
    cluster = create(templates.LINEAR, files.params(**failing))
    local = create(templates.LOCAL, files.params(**failing))
    create(templates.PLAIN, files.params(**failing))  # FAILED but no lock: finished
    waiting = create(templates.PLAIN, files.params(nodes={"1": {"waits": 1, "wait_delay": 60}}))
    listed = data(api.get("/dag/unfinish", show_details="false"))["contents"]
    assert [d["dag_id"] for d in listed] == [cluster.id, local.id, waiting.id]
    assert all(d["nodes"] is None for d in listed)
    assert [d["dag_id"] for d in data(api.get("/dag/agent/unfinish"))["contents"]] == [local.id]
    assert data(api.get("/dag/ob/unfinish")) == {"contents": []}  # not a cluster agent
    monkeypatch.setattr(dag_access, "_identity", lambda: "CLUSTER AGENT")
    ob = data(api.get("/dag/ob/unfinish"))["contents"]
    assert [d["dag_id"] for d in ob] == [cluster.id, waiting.id]


def test_operator_post_is_committed_before_the_answer(api, files, manual):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"fail_until": "/none"}}))
    manual.drain()
    resp = api.post(f"/dag/1{dag.id}", {"operator": "ROLLBACK"})
    assert resp.status_code == 200 and "data" not in resp.get_json()
    body = data(api.get(f"/dag/1{dag.id}"))
    assert (body["state"], body["operator"]) == ("READY", "ROLLBACK")
    manual.drain()
    body = data(api.get(f"/dag/1{dag.id}", show_details="false"))
    assert (body["state"], body["operator"], body["additional_data"]) == (
        "SUCCEED", "ROLLBACK", {"rolled_back": True})
    assert engine.find_lock_holder("cluster") is None


@pytest.mark.parametrize("path", ["/dag/11/", "/dag/maintain/agent/", "/dag/unfinish/"])
def test_no_trailing_slash_variants(api, files, path):
    create(templates.LINEAR, files.params())
    error(api.get(path), 404, "Common.NotFound")


def test_unsigned_request_is_refused(dag_app, files):
    dag = create(templates.LINEAR, files.params())
    resp = dag_app.test_client().get(f"/api/v1/task/dag/1{dag.id}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errCode"] == "Request.Header.NotFound"
    assert reload(dag).state == "SUCCEED"
