"""The consumer's preparation: template modules, queue binding, the eager start-up sweep."""
import sys
import types

from app.process import consumer as worker
from app.dag import engine
from app.dag.models import Dag, SubTask
from app.db import connection
from app.taskqueue import configure_queue, huey
from tests.support import dag_templates as templates


def test_template_modules_are_imported_and_registered(monkeypatch):
    calls = []
    module = types.ModuleType("plugin_templates_for_test")
    module.register = lambda: calls.append("registered")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    names = worker.load_template_modules(f" {module.__name__} ,")
    assert names[-1] == module.__name__ and calls == ["registered"]
    assert set(worker.BUILTIN_TEMPLATE_MODULES) <= set(names)


def test_prompt_consumer_ticks_as_configured(tmp_path):
    configure_queue(str(tmp_path / "queue.db"))
    try:
        consumer = worker.PromptConsumer(huey, tick_s=0.05, workers=1, worker_type="thread",
                                         initial_delay=0.02, backoff=1.0, max_delay=0.02)
        assert consumer.prompt_scheduler.interval == 0.05
    finally:
        configure_queue(None, immediate=True)


def test_prepare_consumer_binds_files_and_sweeps_eagerly(dag_app, files, manual):
    created = engine.create_dag(templates.template(templates.LINEAR), files.params())
    manual.jobs.clear()  # as if the consumer died with the message in hand
    config = {**dag_app.config, "TEMPLATE_MODULES": "tests.support.dag_templates"}
    try:
        settings = worker.prepare_consumer(config)
        assert settings["QUEUE_DATABASE"] == dag_app.config["QUEUE_DATABASE"]
        assert huey.immediate is False
    finally:
        configure_queue(None, immediate=True)
    first = SubTask.select().where(SubTask.dag == created.id).order_by(SubTask.id).first()
    assert [args for args, _ in manual.jobs] == [(first.id, 0, 0)]
    with connection():
        assert Dag.get_by_id(created.id).state == "READY"
