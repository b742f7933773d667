"""Hold points in the scale-out stages, for crash tests (a TEMPLATE_MODULES plugin).

Loaded by an agent started with OBSCALE_TEMPLATE_MODULES=tests.support.holds and HOLD_DIR_ENV
naming a folder, its TEMPLATES replace the scale-out templates with wrapped ones: before a stage runs (and again
after its task returned, before the engine records it), the consumer looks for a hold file

    <hold dir>/<cluster|local>-stage-<n>          (before)
    <hold dir>/<cluster|local>-stage-<n>.after    (after)

and, when it exists, touches `<file>.reached` and blocks until the file is removed. A test
creates the file, waits for `.reached`, kills the consumer there, then removes the file.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from app.dag.template import DagTemplate, NodeSpec
from app.scaleout.templates import CLUSTER_SCALE_OUT, LOCAL_SCALE_OUT, TEMPLATES as SCALE_OUT

HOLD_DIR_ENV = "OBSCALE_TEST_HOLD_DIR"
PREFIXES = {CLUSTER_SCALE_OUT: "cluster", LOCAL_SCALE_OUT: "local"}
POLL_S = 0.02


def hold_file(directory: Path, template: str, stage: int, after: bool = False) -> Path:
    """The hold file that stops `template` ("cluster" or "local") at `stage`."""
    return Path(directory) / f"{template}-stage-{stage}{'.after' if after else ''}"


def reached(path: Path) -> Path:
    """The file the consumer touches once it blocks on `path`."""
    return path.with_name(path.name + ".reached")


def _block_while(path: Path) -> None:
    if not path.exists():
        return
    reached(path).touch()
    while path.exists():
        time.sleep(POLL_S)


def _held(execute: Callable, prefix: str, stage: int) -> Callable:
    def run(ctx) -> None:
        directory = os.environ.get(HOLD_DIR_ENV)
        if directory:
            _block_while(hold_file(Path(directory), prefix, stage))
        execute(ctx)
        if directory:
            _block_while(hold_file(Path(directory), prefix, stage, after=True))
    return run


def _with_holds(nodes: Callable[[Mapping[str, Any]], list[NodeSpec]], prefix: str):
    def held_nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
        return [NodeSpec(node.name, [dataclasses.replace(task, execute=_held(task.execute, prefix,
                                                                             stage))
                                     for task in node.tasks])
                for stage, node in enumerate(nodes(params), start=1)]
    return held_nodes


def _held_template(template: DagTemplate) -> DagTemplate:
    return dataclasses.replace(template, nodes=_with_holds(template.nodes, PREFIXES[template.name]))


# Loaded after the built-in module, these replace the scale-out templates of the same names.
TEMPLATES = [_held_template(t) for t in SCALE_OUT]
