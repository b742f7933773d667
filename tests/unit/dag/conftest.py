"""DAG engine unit fixtures: the app with huey immediate, test templates, a signing client."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.engine_proxy import engine
from app.dag.models import Dag, DagNode, SubTask, SubTaskLog
from app.security import keystore
from app.security.crypto import build_v2_request
from tests.support import dag_templates


@pytest.fixture(scope="session")
def key_file(tmp_path_factory) -> Path:
    """One agent key for the whole session (RSA generation is slow)."""
    path = tmp_path_factory.mktemp("key") / "agent_key.pem"
    keystore.create_key_file(path, 2048)
    return path


@pytest.fixture
def dag_app(app, key_file):
    """The app with the test templates registered and the session key installed."""
    target = Path(app.config["KEY_FILE"])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(key_file, target)
    target.chmod(0o600)
    engine.queue.flush()
    yield app
    engine.queue.flush()


class SignedClient:
    """Flask test client that sends SDK-style v2 requests (auth "" on a SINGLE agent)."""

    def __init__(self, app):
        self.client = app.test_client()
        self.public_key = keystore.open_keystore(app.config["KEY_FILE"]).public_key

    def request(self, method: str, path: str, body=None, query=None):
        target = f"/api/v1/task{path}" + (f"?{urlencode(query)}" if query else "")
        plaintext = json.dumps(body).encode() if body is not None else None
        out = build_v2_request(self.public_key, "", target, plaintext)
        return self.client.open(target, method=method, headers={"X-OCS-Header": out.header},
                                data=out.body or None)

    def get(self, path: str, **query):
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body):
        return self.request("POST", path, body=body)


@pytest.fixture
def api(dag_app) -> SignedClient:
    return SignedClient(dag_app)


@pytest.fixture
def files(tmp_path):
    """Paths for the test template's execution log and side-effect file, plus readers."""
    return Files(tmp_path)


class Files:
    def __init__(self, root: Path):
        self.root = root
        self.log = root / "exec.log"
        self.effects = root / "effects.log"

    def params(self, **extra):
        return {"log": str(self.log), "effects": str(self.effects), **extra}

    def lines(self, kind: str | None = None) -> list[str]:
        if not self.log.exists():
            return []
        rows = self.log.read_text().splitlines()
        return [r for r in rows if kind is None or r.startswith(kind + " ")]

    def marker(self, name: str) -> str:
        return str(self.root / name)


def run_scheduled(limit: int = 200) -> int:
    """Run every delayed message huey's immediate mode parked in its schedule; return how many."""
    ran = 0
    while ran < limit:
        queue = engine.queue
        horizon = queue._get_timestamp().replace(year=9999)
        due = queue.read_schedule(horizon)
        if not due:
            return ran
        for task in due:
            queue.execute(task, horizon)
            ran += 1
    raise AssertionError("scheduled messages keep coming")


def create(name: str, params: dict, lock_key: str | None = None) -> Dag:
    return engine.create_dag(dag_templates.template(name), params, lock_key=lock_key)


def reload(dag: Dag) -> Dag:
    return Dag.get_by_id(dag.id)


def node_states(dag: Dag) -> list[tuple[str, str]]:
    return [(n.state, n.operator) for n in DagNode.select().where(DagNode.dag == dag.id)
            .order_by(DagNode.seq)]


def sub_tasks(dag: Dag) -> list[SubTask]:
    return list(SubTask.select().where(SubTask.dag == dag.id).order_by(SubTask.node, SubTask.seq))


def last_log(sub_task: SubTask) -> str:
    return (SubTaskLog.select().where(SubTaskLog.sub_task == sub_task.id)
            .order_by(SubTaskLog.id.desc()).first().log_content)


class ManualQueue:
    """Stands in for the huey task: collects messages so a test runs them one by one."""

    def __init__(self, engine):
        self.engine = engine
        self.jobs: list[tuple[tuple, float | None]] = []

    def __call__(self, *args):
        self.jobs.append((args, None))

    def schedule(self, args, delay=None):
        self.jobs.append((tuple(args), delay))

    def step(self) -> tuple:
        """Run the oldest message; return its args."""
        args, _ = self.jobs.pop(0)
        self.engine.run_message(*args)
        return args

    def drain(self, limit: int = 500) -> int:
        ran = 0
        while self.jobs:
            self.step()
            ran += 1
            assert ran < limit, "messages keep coming"
        return ran


@pytest.fixture
def manual(dag_app, monkeypatch) -> ManualQueue:
    """Messages are collected instead of run (huey immediate mode would run them inline)."""
    real = dag_app.extensions["dag_engine"]
    queue = ManualQueue(real)
    monkeypatch.setattr(real, "run_task", queue)
    return queue
