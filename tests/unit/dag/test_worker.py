"""The consumer's preparation: template modules, queue binding, the eager start-up sweep."""
import os
import stat
import sys
import types

from app import dags
from app.dag.models import Dag, SubTask
from app.db import connection
from app.process import consumer as worker
from app.taskqueue import make_queue
from tests.support import dag_templates as templates
from tests.support.engine_proxy import engine


def test_template_modules_are_imported_and_their_templates_loaded(monkeypatch):
    module = types.ModuleType("plugin_templates_for_test")
    module.TEMPLATES = [templates.template(templates.PLAIN)]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    loaded = dags.load_templates(f" {module.__name__} ,")
    assert loaded[-1] is module.TEMPLATES[0]
    assert {"Cluster scale out", "Local scale out"} <= {t.name for t in loaded}


def test_the_consumer_listens_on_its_doorbell(tmp_path):
    queue = make_queue(str(tmp_path / "queue.db"), idle_s=7.0)
    consumer = worker.WakingConsumer(queue, idle_s=7.0, workers=1, worker_type="thread")
    try:
        assert queue.storage.blocking is True
        assert stat.S_ISFIFO(os.stat(tmp_path / "queue.db.wake").st_mode)
        assert stat.S_IMODE(os.stat(tmp_path / "queue.db.wake").st_mode) == 0o600
        assert consumer.waking_scheduler.idle_s == 7.0
    finally:
        consumer.bell.close()


def test_prepare_consumer_binds_files_and_sweeps_eagerly(dag_app, files, manual):
    created = engine.create_dag(templates.template(templates.LINEAR), files.params())
    manual.jobs.clear()  # as if the consumer died with the message in hand
    config = {**dag_app.config, "TEMPLATE_MODULES": "tests.support.dag_templates"}
    settings, engines = worker.prepare_consumer(config)
    consumer_engine = engines.agent
    assert settings["QUEUE_DATABASE"] == dag_app.config["QUEUE_DATABASE"]
    assert consumer_engine.queue.immediate is False
    assert consumer_engine.queue.storage.filename == dag_app.config["QUEUE_DATABASE"]
    pending = consumer_engine.queue.pending()
    first = SubTask.select().where(SubTask.dag == created.id).order_by(SubTask.id).first()
    assert [task.args for task in pending] == [(first.id, 0, 0)]
    with connection():
        assert Dag.get_by_id(created.id).state == "READY"
