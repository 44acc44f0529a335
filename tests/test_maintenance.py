"""Warehouse maintenance (newsdesk.maintenance) through the real Dagster job: old snapshots
expire except the newest few, small files merge, unused files leave the disk, and the data a
reader sees does not change."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from newsdesk.maintenance import MaintenancePolicy
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.snapshots import list_snapshots
from newsdesk.warehouse import CATALOG, Warehouse, WarehouseUnavailable
from orchestration.runner import run_maintenance
from tests.builders import read_warehouse, run_here

pytestmark = pytest.mark.slow

TABLES = ("pages", "articles", "headlines", "headline_sightings")


def contents(path, snapshot=None) -> dict:
    with Warehouse(str(path)).reader(snapshot) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def files_on_disk(path) -> set[str]:
    return {str(p) for p in Warehouse(str(path)).data_dir.rglob("*.parquet")}


def disk_bytes(path) -> int:
    return sum(Path(name).stat().st_size for name in files_on_disk(path))


def files_in_catalog(path) -> set[str]:
    with read_warehouse(path) as connection:
        metadata = f"__ducklake_metadata_{CATALOG}"
        rows = connection.execute(
            f"SELECT path FROM {metadata}.ducklake_data_file UNION ALL SELECT path FROM {metadata}.ducklake_delete_file"
        ).fetchall()
    data_dir = Warehouse(str(path)).data_dir
    return {str(next(data_dir.rglob(name.rsplit("/", 1)[-1]))) for (name,) in rows}


@pytest.fixture
def many_snapshots(tmp_path, pipeline_env):
    """A warehouse of the samples after four publishes: built, a dump added, replaced, removed."""
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    warehouse = pipeline_env(dumps)
    extra = dumps / "turess-es-2026-03-01.jsonl"
    for change in (
        lambda: None,
        lambda: shutil.copyfile(dumps / "turess-es-2026-02-20.jsonl", extra),
        lambda: extra.write_text("".join(extra.read_text().splitlines(keepends=True)[:2])),
        lambda: extra.unlink(),
    ):
        change()
        assert run_here(dumps, warehouse).succeeded
    return warehouse


def test_maintenance_keeps_recent_snapshots_expires_old_ones_and_deletes_unused_files(many_snapshots):
    warehouse = many_snapshots
    with read_warehouse(warehouse) as connection:
        before = [s.snapshot_id for s in list_snapshots(connection)]
    assert len(before) == 5  # created, then four publishes
    latest = contents(warehouse)
    with dg.DagsterInstance.get() as instance:
        # By default only snapshots a month old expire: these are minutes old.
        assert run_maintenance(instance, {}).startswith("0 snapshots expired")
        with read_warehouse(warehouse) as connection:
            before = [s.snapshot_id for s in list_snapshots(connection)]  # a merge may have added one
        for snapshot in before[1:]:
            contents(warehouse, snapshot)  # each one still reads
        kept_earlier = contents(warehouse, before[-2])
        bytes_before = disk_bytes(warehouse)

        summary = run_maintenance(instance, {"expire_older_than_days": 0, "keep_latest": 2, "delete_after_hours": 0})

    assert summary.startswith(f"{len(before) - 2} snapshots expired")
    with read_warehouse(warehouse) as connection:
        after = [s.snapshot_id for s in list_snapshots(connection)]
    assert after[:2] == before[-2:]  # the newest two stay (a merge may add one more)
    assert contents(warehouse) == latest
    assert contents(warehouse, before[-2]) == kept_earlier
    with pytest.raises(WarehouseUnavailable, match="No snapshot found at version 0"):
        contents(warehouse, before[0])
    assert files_on_disk(warehouse) == files_in_catalog(warehouse)  # nothing unused is left
    assert disk_bytes(warehouse) < bytes_before


def test_the_policy_keeps_at_least_the_newest_snapshot():
    with pytest.raises(ValueError, match="keep_latest"):
        MaintenancePolicy(keep_latest=0)
