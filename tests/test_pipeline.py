"""End to end: the real Dagster definitions materialize the bundled dumps into a DuckDB file."""

import os
import shutil
import signal
import threading
import time
from datetime import date

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.parsed_dump import parsed_dump
from assets.resources import resources_from_environment
from newsdesk.files import temporaries
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.transforms.text_keys import identity_key
from newsdesk.readers import discover_dumps
from newsdesk.warehouse import Warehouse
from orchestration.runner import _expected_pages
from tests.builders import read_warehouse, run_here, write_jsonl_dump

pytestmark = pytest.mark.slow  # end to end: real runs of the whole pipeline

FIELDS = ("crawl_date", "status", "edition", "source", "title", "published_raw", "published_date")


def snapshot(warehouse) -> dict[str, list]:
    with read_warehouse(warehouse) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("pages", "articles", "headline_sightings", "headlines", "headline_clusters")
        }


def headline_ids(texts: list[str]) -> list[str]:
    keys = pl.Series(texts, dtype=pl.String).to_frame("t").select(identity_key(pl.col("t")))["t"].to_list()
    with duckdb.connect() as connection:
        return [connection.execute("SELECT substr(md5(?), 1, 16)", [key]).fetchone()[0] for key in keys]


@pytest.fixture
def sample_warehouse(pipeline_env):
    warehouse = pipeline_env(SAMPLE_DUMPS_DIR)
    outcome = run_here(SAMPLE_DUMPS_DIR, warehouse)
    assert outcome.succeeded, outcome.failures
    return warehouse


def test_every_sample_page_lands_with_the_right_fields(sample_warehouse, truth):
    with read_warehouse(sample_warehouse) as connection:
        pages = {
            (row["dump_id"], row["page_id"]): row
            for row in connection.sql("SELECT * FROM pages").pl().iter_rows(named=True)
        }
        bodies = dict(connection.execute("SELECT article_id, body FROM articles").fetchall())
        sightings = connection.execute(
            "SELECT dump_id, page_id, list(headline_id ORDER BY position) FROM headline_sightings GROUP BY ALL"
        ).fetchall()
    tickers = {(dump_id, page_id): ids for dump_id, page_id, ids in sightings}
    assert len(pages) == len(truth)
    for expected in truth:
        page = pages[(expected["dump_id"], expected["page_id"])]
        checked = FIELDS if expected["status"] == "ok" else ("crawl_date", "status")
        for field in checked:
            value = page[field].isoformat() if isinstance(page[field], date) else page[field]
            assert value == expected[field], (expected["page_id"], field)
        if expected["status"] == "ok":
            assert bodies[page["article_id"]] == expected["body"], expected["page_id"]
            if expected["ticker"]:
                assert tickers[(expected["dump_id"], expected["page_id"])] == headline_ids(expected["ticker"])


def test_distinct_articles_and_headlines_span_dumps(sample_warehouse):
    with read_warehouse(sample_warehouse) as connection:
        # The same article sits in the folder dump (2026-02-18) and the tar dump (2026-02-24).
        seen = connection.execute(
            "SELECT first_seen, last_seen, sightings FROM articles "
            "WHERE title = 'Cinq jeunes marocains périssent dans un incendie en Catalogne'"
        ).fetchall()
        assert seen == [(date(2026, 2, 18), date(2026, 2, 24), 2)]
        duplicated = connection.execute(
            "SELECT count(*) FROM (SELECT headline_id FROM headlines GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        assert duplicated == (0,)
        consistent = connection.execute(
            "SELECT count(*) FROM headlines h JOIN (SELECT headline_id, count(*) n FROM headline_sightings GROUP BY ALL) s "
            "USING (headline_id) WHERE h.sightings <> s.n"
        ).fetchone()
        assert consistent == (0,)


def test_running_twice_leaves_the_same_tables(sample_warehouse):
    before = snapshot(sample_warehouse)
    assert run_here(SAMPLE_DUMPS_DIR, sample_warehouse).succeeded
    assert snapshot(sample_warehouse) == before


def test_rematerializing_one_dump_replaces_its_rows(pipeline_env, tmp_path):
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    warehouse = pipeline_env(dumps)
    assert run_here(dumps, warehouse).succeeded
    before = snapshot(warehouse)

    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    ingest = defs.resolve_job_def("ingest_dump")
    assert ingest.execute_in_process(partition_key="turess-es-2026-02-20", instance=instance).success
    assert defs.resolve_job_def("publish_warehouse").execute_in_process(instance=instance).success
    assert snapshot(warehouse) == before

    # A dump that disappears takes its rows and its partition with it.
    (dumps / "turess-es-2026-02-20.jsonl").unlink()
    outcome = run_here(dumps, warehouse)
    assert outcome.succeeded and outcome.removed == ["turess-es-2026-02-20"]
    after = snapshot(warehouse)
    assert not [row for row in after["pages"] if row[0] == "turess-es-2026-02-20"]
    assert len(after["pages"]) == len(before["pages"]) - 4
    assert "turess-es-2026-02-20" not in instance.get_dynamic_partitions("dumps")


def test_the_checks_of_a_publish_validate_the_pages_it_loaded(pipeline_env, tmp_path):
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    added = dumps / "turess-es-2026-02-20.jsonl"
    aside = tmp_path / added.name
    added.rename(aside)
    warehouse = pipeline_env(dumps)
    key = dg.AssetCheckKey(dg.AssetKey("pages"), "crawl_date_present")

    def pages_checked() -> int:
        latest = dg.DagsterInstance.get().event_log_storage.get_latest_asset_check_execution_by_key([key])
        return latest[key].event.asset_check_evaluation.metadata["element_count"].value

    assert run_here(dumps, warehouse).succeeded
    with read_warehouse(warehouse) as connection:
        assert pages_checked() == connection.execute("SELECT count(*) FROM pages").fetchone()[0]
    aside.rename(added)
    assert run_here(dumps, warehouse).succeeded
    assert pages_checked() == 4  # the added dump's pages only


def test_a_broken_dump_fails_its_step_and_keeps_the_others(pipeline_env, tmp_path, truth):
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    (dumps / "broken-2026-03-01.parquet").write_bytes(b"PAR1 this is not parquet")
    warehouse = pipeline_env(dumps)
    outcome = run_here(dumps, warehouse)
    assert list(outcome.failures) == ["parse broken-2026-03-01"]
    with read_warehouse(warehouse) as connection:
        dumps_kept = connection.execute("SELECT count(DISTINCT dump_id) FROM pages").fetchone()[0]
    assert dumps_kept == len({row["dump_id"] for row in truth})


def test_a_dump_whose_run_worker_is_killed_fails_alone_and_the_others_are_published(pipeline_env, tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    write_jsonl_dump(dumps / "a-large-2026-03-01.jsonl", pages=30_000)
    write_jsonl_dump(dumps / "b-small-2026-03-02.jsonl", pages=20, variant="b")
    warehouse = pipeline_env(dumps)
    parts = Warehouse(str(warehouse)).part_path("a-large-2026-03-01").parent
    killed: list[int] = []

    def kill_the_first_writer() -> None:  # as the kernel kills a process out of memory
        while not killed:
            for _, writer in temporaries(parts) if parts.exists() else ():
                killed.append(writer)
                os.kill(writer, signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_first_writer, daemon=True)
    killer.start()
    outcome = run_here(dumps, warehouse, workers=1)  # the next dump needs a new worker
    killer.join(timeout=1)

    assert killed
    assert list(outcome.failures) == ["parse a-large-2026-03-01"]
    assert "run worker stopped during the run" in outcome.failures["parse a-large-2026-03-01"]
    with read_warehouse(warehouse) as connection:
        assert connection.execute("SELECT DISTINCT dump_id FROM pages").fetchall() == [("b-small-2026-03-02",)]
    assert not list(temporaries(parts))  # the killed writer's temporary file is gone
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": "a-large-2026-03-01"}))
    assert [run.status for run in runs] == [dg.DagsterRunStatus.FAILURE]  # not left as started


@pytest.mark.slow
def test_progress_counts_the_pages_inside_a_dump_and_names_the_publish_steps(pipeline_env, tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    write_jsonl_dump(dumps / "big-2026-01-01.jsonl", 80_000)
    shutil.copytree(SAMPLE_DUMPS_DIR / "maghress-fr-2026-02-18", dumps / "maghress-fr-2026-02-18")
    reports = []
    outcome = run_here(dumps, pipeline_env(dumps), progress=reports.append)
    assert outcome.succeeded, outcome.failures

    parsing = [report for report in reports if report.phase == "parsing"]
    # Pages count up while the big dump is still being read, not only when it ends.
    assert any(0 < report.pages < 80_000 and "big-2026-01-01" in report.step for report in parsing), parsing
    assert (parsing[-1].pages, parsing[-1].dumps_done, parsing[-1].dumps) == (80_008, 2, 2)
    # The total is known for the folder (its files) and, once it is parsed, for the JSONL dump.
    assert parsing[-1].expected_pages == 80_008
    assert reports[0].phase == "planning"
    steps = [report.step.split(":")[0] for report in reports if report.phase == "publishing"]
    assert {"tables", "checks", "report"} <= set(steps)
    assert steps.index("tables") < steps.index("checks") < steps.index("report")


def test_a_folder_dump_expects_a_page_for_each_file_its_reader_reads_as_one(tmp_path):
    """The count the progress shows is the reader's page files: .txt entries in every subfolder,
    a FIFO or a link to a file included (each gets its row), a link to a folder not."""
    from newsdesk.readers import _txt_files

    folder = tmp_path / "a-2026-01-01"
    (folder / "sub").mkdir(parents=True)
    (folder / "page.txt").write_text("page")
    (folder / "sub" / "PAGE.TXT").write_text("page")
    (folder / "notes.md").write_text("not a page")
    os.mkfifo(folder / "fifo.txt")
    (folder / "link.txt").symlink_to(folder / "page.txt")
    (folder / "sub" / "up.txt").symlink_to(folder / "notes.md")
    (folder / "folder.txt").symlink_to(folder / "sub")
    [dump] = discover_dumps(tmp_path).dumps
    read_as_pages = [path for path, kind in _txt_files(str(folder)) if isinstance(kind, tuple)]
    assert len(read_as_pages) == 5
    assert dump.expected_pages == 5


def test_the_pages_to_expect_come_from_counts_then_from_the_pages_per_byte_seen(tmp_path):
    folder = tmp_path / "a-2026-01-01"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.txt").write_text("page")
    for name in ("b-2026-01-02.jsonl", "c-2026-01-03.jsonl"):
        write_jsonl_dump(tmp_path / name, 10)
    dumps = discover_dumps(tmp_path).dumps
    expected = {dump.dump_id: dump.expected_pages for dump in dumps}
    assert expected == {"a-2026-01-01": 3, "b-2026-01-02": None, "c-2026-01-03": None}
    assert _expected_pages(dumps, expected, {}) is None  # nothing says how many pages a JSONL file holds
    assert _expected_pages(dumps, expected, {"b-2026-01-02": 10}) == 3 + 10 + 10  # c is as dense as b


def test_a_partition_typed_by_hand_for_a_dump_that_is_not_there_fails_in_one_clear_line(pipeline_env, tmp_path):
    """In the UI, a partition key added by hand for a dump the folder does not hold: the run
    fails with a sentence that says so, not a FileNotFoundError."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    pipeline_env(dumps)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("dumps", ["typo-2026-01-01"])
        result = dg.materialize(
            [parsed_dump], partition_key="typo-2026-01-01", instance=instance, resources=resources_from_environment(), raise_on_error=False
        )
    [failure] = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error.cls_name == "Failure"
    assert f"dump 'typo-2026-01-01' is not in {dumps}: it was removed, or the partition was typed by hand" in error.message


@pytest.mark.slow
def test_a_run_that_would_change_nothing_does_not_publish_unless_told(pipeline_env, tmp_path, truth):
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    warehouse = pipeline_env(dumps)
    assert run_here(dumps, warehouse).published
    again = run_here(dumps, warehouse)
    assert not again.published and again.checks_run == 0
    assert again.snapshot == 1 and again.contents.row_counts["pages"] == len(truth) and again.report is not None
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_runs(filters=dg.RunsFilter(job_name="publish_warehouse"))) == 1
    # A changed partition file is a change, even without a parse in this run.
    part = Warehouse(str(warehouse)).part_path("turess-es-2026-02-20")
    os.utime(part)
    assert run_here(dumps, warehouse).published
