"""The `newsdesk` command as a user runs it: a real subprocess from .venv/bin."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.warehouse import Warehouse
from tests.builders import messages, write_jsonl_dump, written_warehouse

NEWSDESK = Path(sys.executable).with_name("newsdesk")


def newsdesk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEWSDESK), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}


@pytest.mark.slow
def test_run_prints_per_dump_counts_and_totals_then_sql_reads_them(tmp_path, env):
    warehouse = tmp_path / "w.ducklake"
    run = newsdesk("run", "--warehouse", str(warehouse), env=env)
    assert run.returncode == 0, run.stderr
    assert "maghress-fr-2026-02-18" in run.stdout and "binary 1, empty 1, no_publication_line 1" in run.stdout
    assert "43 pages, 31 distinct articles" in run.stdout
    assert "Traceback" not in run.stderr
    # Not a terminal: plain timestamped progress lines, from the start, of the parsing and of
    # each step of the publish.
    lines = run.stderr.splitlines()
    assert re.match(r"\d\d:\d\d:\d\d starting: ", lines[0]), run.stderr
    assert re.search(r"^\d\d:\d\d:\d\d parsing: \[\d/8 dumps\].* \(\d+ of (~[\d,]+|\?) pages", run.stderr, re.M), run.stderr
    for step in ("tables", "checks", "report"):
        assert re.search(rf"^\d\d:\d\d:\d\d publishing: {step}", run.stderr, re.M), run.stderr

    query = newsdesk("sql", "SELECT count(*) AS n FROM pages WHERE status = 'ok'", "--warehouse", str(warehouse), "--csv")
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ["n", "34"]


@pytest.mark.slow
def test_each_warehouse_has_its_own_dagster_instance(tmp_path):
    """Without DAGSTER_HOME, a new warehouse built from an empty folder knows nothing of the
    dumps another warehouse was built from: nothing to remove, no partitions of theirs."""
    env = {name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"}
    first = newsdesk("run", "--warehouse", str(tmp_path / "first.ducklake"), env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "first.dagster" / "dagster.yaml").is_file()
    (tmp_path / "empty").mkdir()
    second = newsdesk("run", "--dumps", str(tmp_path / "empty"), "--warehouse", str(tmp_path / "second.ducklake"), env=env)
    assert second.returncode == 0, second.stderr
    assert "removed" not in second.stdout and "no pages" in second.stdout
    assert (tmp_path / "second.dagster").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--dumps", "/nonexistent/dumps"), "newsdesk: dumps folder not found: /nonexistent/dumps"),
        (("sql", "SELECT 1", "--warehouse", "/nonexistent/w.ducklake"), "newsdesk: no warehouse at /nonexistent/w.ducklake"),
        (("run", "--dumps", str(SAMPLE_DUMPS_DIR / "turess-es-2026-02-20.jsonl")),
         f"newsdesk: --dumps takes the folder that holds the dumps, and {SAMPLE_DUMPS_DIR}/turess-es-2026-02-20.jsonl is a file"),
    ],
)
def test_user_errors_are_one_clear_line(args, message, env):
    result = newsdesk(*args, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1


def test_a_corrupt_warehouse_is_reported_and_left_alone(tmp_path, env):
    warehouse = tmp_path / "w.ducklake"
    warehouse.write_bytes(b"not a duckdb file")
    result = newsdesk("run", "--warehouse", str(warehouse), env=env)
    assert result.returncode == 2 and "is not a newsdesk warehouse" in result.stderr
    assert warehouse.read_bytes() == b"not a duckdb file"


def test_a_bad_query_keeps_duckdbs_help(tmp_path, env):
    warehouse = tmp_path / "w.ducklake"
    with written_warehouse(warehouse):
        pass
    result = newsdesk("sql", "SELEC nonsense", "--warehouse", str(warehouse), env=env)
    assert result.returncode == 2 and result.stderr.startswith("newsdesk: query failed:")
    result = newsdesk("sql", "SELECT * FROM article", "--warehouse", str(warehouse), env=env)
    assert result.returncode == 2 and 'Did you mean "articles"' in result.stderr and "Traceback" not in result.stderr
    result = newsdesk("sql", "SELECT p.nothing FROM pages AS p", "--warehouse", str(warehouse), env=env)
    assert "Candidate bindings" in result.stderr and "encoding" in result.stderr


@pytest.fixture
def rows_warehouse(tmp_path):
    """A warehouse whose pages table holds 250 rows: more than a table shows."""
    warehouse = tmp_path / "w.ducklake"
    with written_warehouse(warehouse) as connection:
        connection.execute(
            "INSERT INTO pages (dump_id, page_id, status) SELECT 'd', 'p' || i, 'ok' FROM range(250) AS r(i)"
        )
    return warehouse


def test_machine_readable_output_has_every_row_and_nested_values_as_json(rows_warehouse, tmp_path, env):
    where = ("--warehouse", str(rows_warehouse))
    csv = newsdesk("sql", "SELECT page_id FROM pages", "--csv", *where, env=env)
    assert csv.returncode == 0 and len(csv.stdout.splitlines()) == 251
    limited = newsdesk("sql", "SELECT page_id FROM pages", "--format", "csv", "--max-rows", "7", *where, env=env)
    assert len(limited.stdout.splitlines()) == 8
    nested = "SELECT [1, 2] AS numbers, {'a': 'x'} AS record, sum(42) AS total"
    csv = newsdesk("sql", nested, "--format", "csv", *where, env=env)
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["numbers,record,total", '"[1,2]","{""a"":""x""}",42']
    json_lines = newsdesk("sql", "SELECT page_id FROM pages", "--format", "json", *where, env=env)
    assert len(json_lines.stdout.splitlines()) == 250 and json_lines.stdout.startswith('{"page_id":')
    out = tmp_path / "result.parquet"
    written = newsdesk("sql", nested, "--format", "parquet", "--out", str(out), *where, env=env)
    assert written.returncode == 0 and "1 rows written to" in written.stderr
    import pyarrow.parquet

    assert str(pyarrow.parquet.read_schema(out).field("total").type) == "int64"  # not a double
    refused = newsdesk("sql", nested, "--format", "parquet", *where, env=env)
    assert refused.returncode == 2 and "give --out FILE" in refused.stderr


def test_a_table_shows_its_first_rows_and_bad_row_counts_are_refused(rows_warehouse, env):
    where = ("--warehouse", str(rows_warehouse))
    table = newsdesk("sql", "SELECT page_id FROM pages", *where, env=env)
    assert table.returncode == 0 and "250 rows" in table.stdout and "100 shown" in table.stdout
    refused = newsdesk("sql", "SELECT 1", "--max-rows", "-1", *where, env=env)
    assert refused.returncode == 2 and "1 or more" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_sql_reaches_files_only_when_allowed(tmp_path, env):
    warehouse = tmp_path / "w.ducklake"
    with written_warehouse(warehouse) as connection:
        connection.execute("INSERT INTO pages (dump_id, page_id, status) VALUES ('d', 'p', 'ok')")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the query")
    query = f"SELECT content FROM read_text('{secret}')"
    refused = newsdesk("sql", query, "--csv", "--warehouse", str(warehouse), env=env)
    assert refused.returncode == 2 and "not for the query" not in refused.stdout
    assert refused.stderr.startswith("newsdesk: query failed:") and "disabled" in refused.stderr
    written = tmp_path / "out.csv"
    copy = newsdesk("sql", f"COPY (SELECT 1 AS x) TO '{written}'", "--warehouse", str(warehouse), env=env)
    assert copy.returncode == 2 and not written.exists()
    # Not even into the warehouse's own data folder, which it may read: a COPY there would
    # overwrite the files every snapshot reads.
    data_file = next(Warehouse(str(warehouse)).data_dir.rglob("*.parquet"))
    before = data_file.read_bytes()
    overwrite = newsdesk("sql", f"COPY (SELECT 1 AS x) TO '{data_file}' (FORMAT parquet)", "--warehouse", str(warehouse), env=env)
    assert overwrite.returncode == 2 and data_file.read_bytes() == before
    assert overwrite.stderr.strip() == (
        "newsdesk: COPY writes files, which newsdesk sql does not without --allow-files "
        "(or use --format and --out to export a result)"
    )
    allowed = newsdesk("sql", query, "--csv", "--allow-files", "--warehouse", str(warehouse), env=env)
    assert allowed.returncode == 0 and "not for the query" in allowed.stdout


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("run", "Parse every dump under DUMPS"),
        ("sql", "Run SQL on the warehouse (read-only)"),
        ("report", "Print the path of the corpus report"),
        ("ui", "Start the Dagster webserver and daemon"),
    ],
)
def test_help_says_what_each_command_does(command, says):
    result = newsdesk(command, "--help")
    assert result.returncode == 0 and says in " ".join(result.stdout.split())


@pytest.mark.slow
def test_sql_splits_statements_as_duckdb_does(built_samples, env):
    script = "SELECT 'a;b' AS x; -- a comment; with a semicolon\nSELECT 'x--y' AS y, count(*) AS n FROM pages"
    result = newsdesk("sql", script, "--csv", "--warehouse", str(built_samples["warehouse"]), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["y,n", "x--y,43"]


@pytest.mark.slow
def test_each_publish_is_a_snapshot_that_sql_and_the_duckdb_cli_can_read(tmp_path, env):
    dumps, warehouse = tmp_path / "dumps", tmp_path / "w.ducklake"
    dumps.mkdir()
    write_jsonl_dump(dumps / "a-2026-01-01.jsonl", 20)
    assert newsdesk("run", "--dumps", str(dumps), "--warehouse", str(warehouse), env=env).returncode == 0
    write_jsonl_dump(dumps / "b-2026-01-02.jsonl", 30, variant="b")
    second = newsdesk("run", "--dumps", str(dumps), "--warehouse", str(warehouse), env=env)
    assert second.returncode == 0 and "(snapshot 2:" in second.stdout
    assert newsdesk("run", "--dumps", str(dumps), "--warehouse", str(warehouse), env=env).returncode == 0  # no change

    listed = newsdesk("snapshots", "--warehouse", str(warehouse), env=env).stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["0", "1", "2"]  # a run that changes nothing adds none
    assert listed[2].split("\t")[2] == "1 dumps added, 0 replaced, 0 removed; pages 20 -> 50"

    def pages(*at: str) -> str:
        result = newsdesk("sql", "SELECT count(*) FROM pages", "--csv", "--warehouse", str(warehouse), *at, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1]

    assert (pages(), pages("--at", "1"), pages("--at", "2")) == ("50", "20", "50")
    missing = newsdesk("sql", "SELECT 1", "--at", "9", "--warehouse", str(warehouse), env=env)
    assert missing.returncode == 2 and "No snapshot found at version 9" in missing.stderr

    attach = tmp_path / "attach.sql"
    attach.write_text(newsdesk("attach", "--warehouse", str(warehouse), env=env).stdout)
    cli = subprocess.run(
        [str(NEWSDESK.with_name("duckdb")), "-init", str(attach), "-csv", "-c", "SELECT count(*) AS n FROM pages"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert cli.returncode == 0 and cli.stdout.splitlines()[-1] == "50", cli.stdout + cli.stderr


def test_a_dagster_home_belongs_to_one_warehouse(tmp_path):
    """Two warehouses on one DAGSTER_HOME would mix their runs and partitions, and two runs
    creating one instance at once could wedge it: the second warehouse is refused in one line."""
    home = tmp_path / "home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    home.mkdir()
    (home / "newsdesk_warehouse").write_text(str(tmp_path / "first.ducklake"))
    second = newsdesk("run", "--warehouse", str(tmp_path / "second.ducklake"), env=env)
    assert second.returncode == 2
    assert messages(second.stderr) == [
        f"newsdesk: DAGSTER_HOME {home} is the Dagster instance of the warehouse {tmp_path / 'first.ducklake'}: "
        f"give {tmp_path / 'second.ducklake'} its own (unset DAGSTER_HOME for the one beside it), "
        f"or delete {home / 'newsdesk_warehouse'} if that warehouse moved"
    ]
    assert not (tmp_path / "second.ducklake").exists()


def test_unusable_places_and_settings_are_one_line(tmp_path):
    for args, message in [
        (("--warehouse", "/etc/passwd/w.ducklake"), "newsdesk: cannot set up the Dagster instance in /etc/passwd/w.dagster: Not a directory"),
        (("--workers", "0"), "argument --workers: 0 is not a positive number"),
        (("--max-page-bytes", str(2**63 - 1)), "is over 1,073,741,824 (1 GiB), the largest page limit"),
    ]:
        result = newsdesk("run", *args, env={name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"})
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert message in result.stderr


def test_the_processes_a_command_starts_use_newsdesks_allocator_settings(tmp_path, monkeypatch):
    """Polars rewrites the variable as it is imported, with its own settings first: in a process
    started after the command configured its environment, newsdesk's are still the last, so
    they hold; configuring twice does not repeat them."""
    import argparse

    from orchestration.cli import POLARS_ALLOCATOR_SETTINGS, _configure_environment

    monkeypatch.setattr(os, "environ", {name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"})
    args = argparse.Namespace(
        dumps=SAMPLE_DUMPS_DIR, warehouse=tmp_path / "w.ducklake", max_page_bytes=1_000_000, catalog="", data_path=""
    )
    name, settings = POLARS_ALLOCATOR_SETTINGS
    _configure_environment(args)
    _configure_environment(args)
    assert os.environ[name].count(settings) == 1
    started = subprocess.run(
        [sys.executable, "-c", f"import os, polars; print(os.environ[{name!r}])"],
        env=os.environ, capture_output=True, text=True, check=True,
    )
    assert started.stdout.strip().endswith("," + settings)
