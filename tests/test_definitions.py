import subprocess
import sys

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load_with_every_asset_and_job():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "parsed_dump", "pages", "headline_sightings", "articles", "headlines", "headline_clusters", "headline_translations",
        "headline_stories", "corpus_report",
    }
    assert defs.resolve_job_def("ingest_dump").partitions_def.name == "dumps"
    assert defs.resolve_job_def("publish_warehouse")


def test_every_asset_has_a_description_group_and_kinds():
    for node in defs.resolve_asset_graph().asset_nodes:
        assert node.description, node.key
        assert node.group_name in {"ingest", "warehouse", "reports"}, node.key
        assert node.kinds, node.key


def test_loading_the_code_location_is_light():
    # The UI reloads the code location often: no warehouse connection, no heavy imports.
    probe = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_parsed_dump_called_directly_writes_its_partition_file(tmp_path):
    from assets.parsed_dump import parsed_dump
    from assets.project import SAMPLE_DUMPS_DIR
    from orchestration.resources import DumpsFolder, Warehouse

    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("dumps", ["turess-es-2026-02-20"])
    context = dg.build_asset_context(partition_key="turess-es-2026-02-20", instance=instance)
    result = parsed_dump(context, dumps=DumpsFolder(path=str(SAMPLE_DUMPS_DIR)), warehouse=warehouse)
    assert result.metadata["dagster/row_count"] == 4
    assert warehouse.part_path("turess-es-2026-02-20").exists()
