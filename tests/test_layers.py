"""The layers import one way: newsdesk/ (the core) <- assets/ (Dagster definitions of the data)
<- orchestration/ (jobs, sensors, schedules, the runner and the CLI). Read from the source,
function-level imports included."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each layer may not import, at any depth of its modules.
FORBIDDEN = {
    "newsdesk": ("dagster", "dagster_webserver", "assets", "orchestration"),
    "assets": ("orchestration",),
}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    crossings = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / layer).rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN[layer]
    )
    assert crossings == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from orchestration.runner import run_pipeline\n")
    assert "orchestration.runner" in imported_modules(module)
