import json
from pathlib import Path

import pytest

from assets.resources import settings_environment
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.transforms.editions import load_editions
from tests.builders import REAL_PAGE, TRUTH_FILE, run_here

# The modules of the longest tests (the UI waits for the daemon's sensor ticks, the cluster
# starts servers and workers): collected first, so that `pytest -n` starts them first and the
# other tests fill the cores beside them, instead of one of them running alone at the end.
_LONGEST_FIRST = ("tests.test_ui", "tests.test_cluster")


def pytest_collection_modifyitems(items):
    longest = {name: rank for rank, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: longest.get(item.module.__name__, len(longest)))


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
        warehouse = tmp_path / "warehouse.ducklake"
        for name, value in settings_environment(dumps, warehouse).items():
            monkeypatch.setenv(name, value)
        return warehouse

    return configure



@pytest.fixture(scope="session")
def built_samples(tmp_path_factory) -> dict[str, Path]:
    """The bundled samples built once through the real pipeline, for tests that only read."""
    root = tmp_path_factory.mktemp("samples")
    warehouse = root / "warehouse.ducklake"
    (root / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root / "home"))
        for name, value in settings_environment(SAMPLE_DUMPS_DIR, warehouse).items():
            patch.setenv(name, value)
        outcome = run_here(SAMPLE_DUMPS_DIR, warehouse)
    assert outcome.succeeded, outcome.failures
    return {"warehouse": warehouse, "report": outcome.report, "checks_page": outcome.checks_page}
