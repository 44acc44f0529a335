"""The cluster configuration (docs/deploy.md), on real servers on loopback ports: the Dagster
instance and the DuckLake catalog in PostgreSQL, the data files in a folder every process
reaches, and the parse steps on two Dask workers, each in a working folder of its own. Only
configuration differs from the embedded default: deploy/dagster.yaml, --catalog and
NEWSDESK_DASK_SCHEDULER.

One worker is killed (SIGKILL, as a machine that dies) while it writes a dump's partition
file: the scheduler hands the step to the other worker, and the warehouse equals the one the
embedded default builds from the same dumps, row for row: nothing lost, nothing twice."""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.publish import CONTRACT_TABLES
from newsdesk.readers import discover_dumps
from newsdesk.warehouse import Warehouse
from tests.builders import REPOSITORY, write_jsonl_dump
from tests.servers import dask_cluster, free_port, postgres

pytestmark = pytest.mark.slow

NEWSDESK = REPOSITORY / ".venv" / "bin" / "newsdesk"
LARGE_DUMP = "turess-fr-2026-03-01"  # long enough to be killed in the middle of


def contents(warehouse: Warehouse) -> dict:
    """Every row of every contract table; a translation's score (a sum of floating-point
    products, whose last bits follow the order DuckDB's threads add them in) to 12 digits."""
    with warehouse.reader() as connection:
        return {
            table: connection.execute(
                f"SELECT * {'REPLACE (round(score, 12) AS score)' if table == 'headline_translations' else ''} "
                f"FROM {table} ORDER BY ALL"
            ).fetchall()
            for table in CONTRACT_TABLES
        }


def newsdesk_run(dumps: Path, warehouse: Path, env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(NEWSDESK), "run", "--dumps", str(dumps), "--warehouse", str(warehouse), *options],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_the_cluster_builds_the_embedded_warehouse_and_survives_a_dead_worker(tmp_path, monkeypatch):
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    write_jsonl_dump(dumps / f"{LARGE_DUMP}.jsonl", pages=30_000)

    embedded = tmp_path / "embedded" / "w.ducklake"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "embedded-home")}
    run = newsdesk_run(dumps, embedded, env)
    assert run.wait(timeout=600) == 0, run.stderr.read()
    expected = contents(Warehouse(str(embedded)))

    with postgres() as server:
        server.createdb("dagster")
        server.createdb("lake")
        home = tmp_path / "cluster-home"
        home.mkdir()
        shutil.copyfile(REPOSITORY / "deploy" / "dagster.yaml", home / "dagster.yaml")
        monkeypatch.setenv("NEWSDESK_DAGSTER_POSTGRES_URL", server.url("dagster"))  # deploy/dagster.yaml reads it
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        with dask_cluster(tmp_path / "dask", workers=2, env=env) as cluster:
            shared = tmp_path / "shared"  # the folder every machine mounts
            warehouse = Warehouse(str(shared / "w.ducklake"), catalog=f"postgres:{server.dsn('lake')}")
            run = newsdesk_run(
                dumps, shared / "w.ducklake", {**env, "NEWSDESK_DASK_SCHEDULER": cluster.address},
                "--catalog", warehouse.catalog,
            )
            worker = _kill_the_worker_writing(warehouse.part_path(LARGE_DUMP), cluster.workers, run)
            stdout, stderr = run.communicate(timeout=600)
            assert run.returncode == 0, stdout + stderr
            assert cluster.workers[worker].poll() is not None  # it stayed dead: the other one finished

            assert contents(warehouse) == expected
            query = subprocess.run(
                [str(NEWSDESK), "sql", "--warehouse", str(shared / "w.ducklake"), "--catalog", warehouse.catalog, "--at", "1",
                 "--csv", "SELECT count(*) AS pages FROM pages"],
                env=env, capture_output=True, text=True,
            )
            assert query.stdout.split() == ["pages", str(len(expected["pages"]))], query.stderr
            assert not (shared / "w.ducklake").exists()  # the catalog is in PostgreSQL
            assert list(warehouse.data_dir.rglob("*.parquet"))  # the data files in the shared folder
            with dg.DagsterInstance.from_config(str(home)) as instance:
                parses = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_dump"))
                assert {run.status for run in parses} == {dg.DagsterRunStatus.SUCCESS}
                assert sorted(run.tags["dagster/partition"] for run in parses) == sorted(
                    dump.dump_id for dump in discover_dumps(dumps).dumps
                )
                step_pids = {
                    record.event_log_entry.dagster_event.pid
                    for run in parses
                    for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
                }
            assert step_pids <= {process.pid for process in cluster.workers.values()}  # the steps ran on the workers
            assert len(step_pids) == 2


def _kill_the_worker_writing(part_file: Path, workers: dict[str, subprocess.Popen], run: subprocess.Popen) -> str:
    """SIGKILL the worker that is writing part_file (its temporary file names the writer's
    pid) as soon as it starts; the worker's name."""
    pattern = re.compile(rf"^\.{re.escape(part_file.name)}\.(\d+)\.tmp$")
    by_pid = {process.pid: name for name, process in workers.items()}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        if part_file.parent.is_dir():
            for entry in part_file.parent.iterdir():
                found = pattern.match(entry.name)
                if found and int(found.group(1)) in by_pid:
                    os.killpg(int(found.group(1)), signal.SIGKILL)
                    return by_pid[int(found.group(1))]
        time.sleep(0.02)
    raise AssertionError(f"no worker started writing {part_file.name}: {run.communicate()}")


def test_data_files_on_s3_compatible_storage(tmp_path, monkeypatch):
    """--data-path s3://...: the data files go to an S3-compatible server (moto's, on a loopback
    port) through DuckDB's httpfs, and the warehouse reads as the embedded one does."""
    from moto.server import ThreadedMotoServer

    embedded = tmp_path / "embedded" / "w.ducklake"
    run = newsdesk_run(SAMPLE_DUMPS_DIR, embedded, {**os.environ, "DAGSTER_HOME": str(tmp_path / "embedded-home")})
    assert run.wait(timeout=600) == 0, run.stderr.read()

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        credentials = {"AWS_ACCESS_KEY_ID": "newsdesk", "AWS_SECRET_ACCESS_KEY": "newsdesk", "AWS_REGION": "us-east-1"}
        for name, value in {**credentials, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
            monkeypatch.setenv(name, value)
        import boto3

        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
        s3.create_bucket(Bucket="lake")
        warehouse = Warehouse(str(tmp_path / "w.ducklake"), data_path="s3://lake/newsdesk/")
        run = newsdesk_run(
            SAMPLE_DUMPS_DIR, tmp_path / "w.ducklake", {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")},
            "--data-path", warehouse.data_path,
        )
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stdout + stderr
        assert contents(warehouse) == contents(Warehouse(str(embedded)))
        stored = [entry["Key"] for entry in s3.list_objects_v2(Bucket="lake")["Contents"]]
        assert stored and all(key.startswith("newsdesk/") and key.endswith(".parquet") for key in stored)
        assert not warehouse.data_dir.exists()  # nothing beside the catalog
    finally:
        server.stop()
