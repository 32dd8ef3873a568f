"""bench/bench_dag_parse.py's bare loop builds the same DAGs as the DAG folder, and its
check notices when it does not."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bench.bench_dag_parse import (
    BARE_DAG_FILE,
    BARE_SPEC_FILE,
    Folder,
    bare_twin,
    check_same_dags,
    compact,
    describe,
    load_bag,
    write_bare_folder,
)

DAGS = Folder(Path(__file__).resolve().parents[2] / "dags")


@pytest.fixture(autouse=True)
def _demo_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_bag sets or removes the variable: restore it after each test.
    monkeypatch.delenv("RESELLER_SYNC_INCLUDE_DIR", raising=False)


def test_the_bare_loop_builds_the_same_dags_without_the_library(tmp_path: Path) -> None:
    bare = bare_twin(DAGS, tmp_path)  # raises if the DAGs differ

    tree = ast.parse((tmp_path / BARE_DAG_FILE).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "airflow.sdk" in imported
    assert not any(str(name).startswith("reseller_sync") for name in imported)
    ours, theirs = describe(load_bag(DAGS)), describe(load_bag(bare))
    assert ours == theirs
    kinds = {kind for _, tasks in ours.values() for _, kind, _, _ in tasks}
    assert {"task", "operator", "deferrable", "approval"} <= kinds


def test_the_spec_holds_each_shape_once(tmp_path: Path) -> None:
    spec = compact(describe(load_bag(DAGS)))
    onboarding = [row for row in spec["dags"] if "_onboarding__" in row[0]]
    resellers = {dag_id.split("_onboarding__")[0] for dag_id, _, _ in onboarding}
    assert len(resellers) > 1
    for reseller in resellers:
        own = [row for row in onboarding if row[0].startswith(f"{reseller}_onboarding__")]
        assert len({shape for _, shape, _ in own}) == 1, reseller
        assert len({setting for _, _, setting in own}) == 1, reseller


def test_a_missing_edge_is_noticed(tmp_path: Path) -> None:
    bag = load_bag(DAGS)
    spec = compact(describe(bag))
    shape = next(tasks for tasks in spec["shapes"] if len(tasks) > 1)
    next(task for task in shape if task[2])[2] = []
    bare = write_bare_folder(spec, tmp_path)
    assert json.loads((tmp_path / BARE_SPEC_FILE).read_text()) == spec

    with pytest.raises(AssertionError, match="edges"):
        check_same_dags(bag, load_bag(bare))


def test_a_different_task_kind_is_noticed(tmp_path: Path) -> None:
    bag = load_bag(DAGS)
    spec = compact(describe(bag))
    shape = next(tasks for tasks in spec["shapes"] if any(t[1] == "operator" for t in tasks))
    next(task for task in shape if task[1] == "operator")[1] = "task"
    bare = write_bare_folder(spec, tmp_path)

    with pytest.raises(AssertionError, match=r"'operator'.* != .*'task'"):
        check_same_dags(bag, load_bag(bare))


def test_the_strictest_bare_loop_builds_the_same_dags_but_for_the_waits(tmp_path: Path) -> None:
    bare = bare_twin(DAGS, tmp_path, waits="python")  # raises if the DAGs differ

    kinds = {kind for _, tasks in describe(load_bag(bare)).values() for _, kind, _, _ in tasks}
    assert "deferrable" not in kinds
    assert "operator" in kinds
