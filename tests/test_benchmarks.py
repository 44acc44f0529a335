"""Every benchmark runs, on a small input, as docs/scaling.md and README.md run it: a change to
the code a benchmark measures cannot leave it broken unnoticed. Their figures are measured,
not asserted here."""

import subprocess
import sys

import pytest

from tests.builders import REPOSITORY


def run_benchmark(*arguments: str) -> str:
    """The benchmark's output; it must exit cleanly."""
    done = subprocess.run([sys.executable, *arguments], cwd=REPOSITORY, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{arguments[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_bench_pipeline_runs_its_steps_and_the_end_to_end_runs(tmp_path):
    output = run_benchmark(
        "benchmarks/bench_pipeline.py", "--pages", "3000", "--dump-pages", "500",
        "--incremental-runs", "1", "--work", str(tmp_path),
    )
    assert "read+decode+parse of those folder dumps, one process" in output
    assert "read+decode+parse of the jsonl.gz dumps" in output and "read+decode+parse of the parquet dumps" in output
    assert "plain DuckDB SQL (read_blob + regexes, all cores) on those dumps" in output
    assert "end to end: newsdesk run --workers 2" in output
    assert "incremental" in output


@pytest.mark.slow
def test_bench_readers_runs():
    assert "read_dump folder, files not in the page cache" in run_benchmark("-m", "benchmarks.bench_readers", "--pages", "500")


@pytest.mark.slow
def test_bench_bombs_runs():
    assert "gzip-garbage-lines" in run_benchmark("-m", "benchmarks.bench_bombs", "--pages", "20")


@pytest.mark.slow
def test_bench_checks_runs():
    assert "article_duplicates" in run_benchmark("benchmarks/bench_checks.py", "--articles", "2000")


@pytest.mark.slow
def test_bench_languages_runs_on_the_held_out_sets():
    output = run_benchmark("benchmarks/bench_languages.py")
    assert "Translation candidates, test" in output
    assert "Article language" in output


@pytest.mark.slow
def test_bench_body_languages_compares_two_codes_on_partition_files(tmp_path):
    from newsdesk.parsing import write_parsed_dump
    from newsdesk.project import SAMPLE_DUMPS_DIR
    from newsdesk.readers import discover_dumps

    for number, dump in enumerate(discover_dumps(SAMPLE_DUMPS_DIR).dumps):
        write_parsed_dump(dump, tmp_path / f"{number}.parquet")
    output = run_benchmark("-m", "benchmarks.bench_body_languages", str(tmp_path), "--against", "HEAD", "--rounds", "1")
    assert "rate:" in output and "times HEAD's" in output
    assert "languages that differ:" in output and "of 120 eval bodies" in output
