"""Every DAG file imports, and every DAG says who owns it, what it does, and how it is grouped."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_file_imports(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}


def test_the_dag_folder_holds_dags(dag_bag: DagBag) -> None:
    assert dag_bag.dag_ids, "no DAG found"
    files_with_dags = {Path(dag.fileloc).name for dag in dag_bag.dags.values()}
    assert files_with_dags == {path.name for path in DAGS_FOLDER.glob("*.py")}


def test_every_dag_has_an_owner_tags_and_a_description(dag_bag: DagBag) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert dag.owner not in ("", "airflow"), f"{dag_id} has no owner"
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.description, f"{dag_id} has no description"
        assert dag.doc_md, f"{dag_id} does not say what to do when it fails"
        for task in dag.tasks:
            assert task.doc_md or task.doc, f"{dag_id}.{task.task_id} has no doc"
