"""GET /api/v1/task/dags/ob and /dags/agent: newest first, bounded by `limit`, the lock holder
marked, cluster DAGs only on a CLUSTER AGENT."""
import pytest

from app.node import dag_access
from app.schemas.task import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT
from tests.support import dag_templates as templates
from tests.unit.dag.conftest import create
from tests.unit.dag.test_task_api import data, error

FAILING = {"nodes": {"1": {"fail_until": "/none"}}}


@pytest.fixture
def member(monkeypatch):
    """This agent is a CLUSTER AGENT (its cluster DAGs share its SQLite in these tests)."""
    monkeypatch.setattr(dag_access, "_identity", lambda: "CLUSTER AGENT")


def test_cluster_dags_newest_first_with_the_lock_holder_marked(api, files, member):
    done = create(templates.PLAIN, files.params())
    failed = create(templates.LINEAR, files.params(**FAILING))  # FAILED: keeps the cluster lock
    create(templates.LOCAL, files.params())
    listed = data(api.get("/dags/ob"))["contents"]
    assert [d["dag_id"] for d in listed] == [failed.id, done.id]
    assert [d["holds_lock"] for d in listed] == [True, False]
    assert [d["id"] for d in listed] == [f"1{failed.id}", f"1{done.id}"]
    assert listed[0]["nodes"] is not None  # show_details defaults to true, as elsewhere
    assert listed[0]["nodes"][0]["sub_tasks"][0]["task_logs"][-1] == "marker none is missing"


def test_agent_dags_hold_only_local_dags(api, files, dag_app):
    create(templates.LINEAR, files.params())
    first = create(templates.LOCAL, files.params())
    second = create(templates.LOCAL, files.params(**FAILING))
    listed = data(api.get("/dags/agent", show_details="false"))["contents"]
    assert [d["dag_id"] for d in listed] == [second.id, first.id]
    assert [d["holds_lock"] for d in listed] == [True, False]
    assert all(d["nodes"] is None and d["id"].startswith("2") for d in listed)


def test_no_cluster_dags_outside_a_cluster(api, files):
    create(templates.LINEAR, files.params())
    assert data(api.get("/dags/ob")) == {"contents": []}


def test_limit_bounds_the_list(api, files, member):
    made = [create(templates.PLAIN, files.params()) for _ in range(3)]
    listed = data(api.get("/dags/ob", limit="2", show_details="false"))["contents"]
    assert [d["dag_id"] for d in listed] == [made[2].id, made[1].id]
    assert len(data(api.get("/dags/ob", limit=str(MAX_LIST_LIMIT)))["contents"]) == 3


def test_the_default_limit(api, files, member):
    for _ in range(DEFAULT_LIST_LIMIT + 1):
        create(templates.PLAIN, files.params())
    listed = data(api.get("/dags/ob", show_details="false"))["contents"]
    assert len(listed) == DEFAULT_LIST_LIMIT and listed[0]["dag_id"] == DEFAULT_LIST_LIMIT + 1


@pytest.mark.parametrize("path", ["/dags/ob", "/dags/agent"])
@pytest.mark.parametrize("limit", ["0", "-1", "abc", "", "1.5", str(MAX_LIST_LIMIT + 1), "２"])
def test_an_invalid_limit_is_a_clear_400(api, member, path, limit):
    message = error(api.get(path, limit=limit), 400, "Common.IllegalArgument")
    assert message == (f"Illegal argument: limit must be an integer from 1 to {MAX_LIST_LIMIT}, "
                       f"got {limit!r}")


def test_the_lists_need_verification(dag_app):
    resp = dag_app.test_client().get("/api/v1/task/dags/agent")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errCode"] == "Request.Header.NotFound"
