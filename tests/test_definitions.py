import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs

GRAPH_SNAPSHOT = Path(__file__).with_name("asset_graph.json")


def asset_graph() -> dict:
    """What the UI shows of the definitions: assets (group, kinds, partitions, dependencies),
    checks (asset, blocking), jobs, sensors and schedules."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for node in sorted(graph.asset_nodes, key=lambda n: n.key.to_user_string()):
        assets[node.key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": node.partitions_def.name if isinstance(node.partitions_def, dg.DynamicPartitionsDefinition) else None,
            "deps": sorted(key.to_user_string() for key in node.parent_keys),
            "checks": sorted(key.name for key in node.check_keys),
        }
    blocking = sorted(
        f"{spec.asset_key.to_user_string()}:{spec.name}"
        for definition in [*(defs.assets or []), *(defs.asset_checks or [])]
        for spec in definition.check_specs
        if spec.blocking
    )
    return {
        "assets": assets,
        "blocking_checks": blocking,
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")),
        "sensors": sorted(sensor.name for sensor in defs.sensors or []),
        "schedules": sorted(f"{s.name} {s.cron_schedule} {s.execution_timezone}" for s in defs.schedules or []),
    }


def test_the_asset_graph_matches_its_snapshot():
    """A change to assets, groups, checks, partitions, dependencies, jobs, sensors or schedules
    shows in review as a change to tests/asset_graph.json. To accept one on purpose:
    `.venv/bin/python -m tests.test_definitions` rewrites the file."""
    assert asset_graph() == json.loads(GRAPH_SNAPSHOT.read_text(encoding="utf-8"))


def test_every_asset_has_a_description():
    for node in defs.resolve_asset_graph().asset_nodes:
        assert node.description, node.key


def test_loading_the_code_location_is_light():
    # The UI reloads the code location often: no warehouse connection, no heavy imports.
    probe = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_parsed_dump_called_directly_writes_its_partition_file(tmp_path):
    from assets.parsed_dump import ParseConfig, parsed_dump
    from assets.resources import DumpsFolder, WarehouseResource
    from newsdesk.project import SAMPLE_DUMPS_DIR

    warehouse = WarehouseResource(path=str(tmp_path / "w.ducklake"))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("dumps", ["turess-es-2026-02-20"])
    context = dg.build_asset_context(partition_key="turess-es-2026-02-20", instance=instance)
    result = parsed_dump(
        context, config=ParseConfig(threads=1), dumps=DumpsFolder(path=str(SAMPLE_DUMPS_DIR)), warehouse=warehouse
    )
    assert result.metadata["dagster/row_count"] == 4
    assert warehouse.warehouse.part_path("turess-es-2026-02-20").exists()


if __name__ == "__main__":
    GRAPH_SNAPSHOT.write_text(json.dumps(asset_graph(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def test_dg_loads_the_project():
    """Dagster's `dg` finds the project ([tool.dg] in pyproject.toml) and loads its definitions."""
    repository = Path(__file__).resolve().parents[1]
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(Path.home()), "VIRTUAL_ENV": sys.prefix}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dg")), "check", "defs"],
        cwd=repository, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr
