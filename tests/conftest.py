import json
from pathlib import Path

import pytest

from assets.project import SAMPLE_DUMPS_DIR
from assets.transforms.editions import load_editions
from tests.builders import REAL_PAGE, TRUTH_FILE


@pytest.fixture(autouse=True)
def data_docs_in_tmp(tmp_path, monkeypatch):
    """Great Expectations' Data Docs of every test go under its tmp_path, not the project's var/."""
    monkeypatch.setenv("NEWSDESK_DATA_DOCS", str(tmp_path / "data_docs"))


@pytest.fixture
def editions():
    return load_editions()


@pytest.fixture(scope="session")
def truth() -> list[dict]:
    return [json.loads(line) for line in TRUTH_FILE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def pipeline_env(tmp_path, dagster_home, monkeypatch):
    """Point the Dagster definitions at a copy-free dumps folder and a warehouse under tmp_path."""

    def configure(dumps: Path = SAMPLE_DUMPS_DIR) -> Path:
        warehouse = tmp_path / "warehouse.duckdb"
        monkeypatch.setenv("NEWSDESK_DUMPS", str(dumps))
        monkeypatch.setenv("NEWSDESK_WAREHOUSE", str(warehouse))
        return warehouse

    return configure



@pytest.fixture(scope="session")
def built_samples(tmp_path_factory) -> dict[str, Path]:
    """The bundled samples built once through the real pipeline, for tests that only read."""
    from orchestration.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("samples")
    warehouse = root / "warehouse.duckdb"
    (root / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root / "home"))
        patch.setenv("NEWSDESK_DUMPS", str(SAMPLE_DUMPS_DIR))
        patch.setenv("NEWSDESK_WAREHOUSE", str(warehouse))
        patch.setenv("NEWSDESK_DATA_DOCS", str(root / "data_docs"))
        outcome = run_pipeline(workers=1)
    assert outcome.succeeded, outcome.failures
    return {"warehouse": warehouse, "report": Path(outcome.report), "data_docs": root / "data_docs"}
