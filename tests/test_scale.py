"""The pieces that make large corpora fast keep the results exact: the incremental publish gives
the warehouse a rebuild would, the batch decoder decodes as the page decoder does, and the
publish stays within its DuckDB memory limit. (Speed itself is measured by
benchmarks/bench_pipeline.py, not asserted here.)"""

import json
import shutil
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.files import part_file_name
from newsdesk import parsing
from newsdesk.readers import ReadLimits, discover_dumps
from newsdesk.parsing import PART_SCHEMA, part_file_is_current, write_parsed_dump
from newsdesk.publish import publish
from newsdesk.transforms.decode import decode_page, decode_pages
from newsdesk.transforms.editions import load_editions
from newsdesk.warehouse import Warehouse
from tests.builders import make_page, read_warehouse, write_jsonl_dump, written_warehouse

EDITIONS = load_editions()
TABLES = ("pages", "articles", "headline_sightings", "headlines", "headline_clusters")
BODY = ("Premier paragraphe de l'article.", "Second paragraphe, plus long que le premier.")


def jsonl_dump(path: Path, pages: list[dict]) -> None:
    path.write_text("".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages), encoding="utf-8")


def page(title: str, body=BODY, ticker=("Titre du fil un", "Titre du fil deux"), **fields) -> dict:
    return {"text": make_page(title=title, body=body, ticker=ticker), **fields}


def build(dumps: Path, warehouse: Path, memory_limit: str = "256MB", temp_limit: str = "10GB") -> None:
    """Parse every dump whose partition file is missing or older than the dump, then publish."""
    parts = warehouse.with_name(warehouse.stem + ".parts")
    parts.mkdir(exist_ok=True)
    listing = discover_dumps(dumps).dumps
    files = {}
    for dump in listing:
        target = parts / part_file_name(dump.dump_id)
        if not target.exists() or target.stat().st_mtime_ns < dump.path.stat().st_mtime_ns:
            write_parsed_dump(dump, target)
        files[dump.dump_id] = target
    for stale in set(parts.glob("*.parquet")) - set(files.values()):
        stale.unlink()
    with Warehouse(str(warehouse), duckdb_memory_limit=memory_limit).writer() as connection:
        connection.execute("SET max_temp_directory_size = $limit", {"limit": temp_limit})
        publish(connection, files, dumps)


def snapshot(warehouse: Path) -> dict:
    with read_warehouse(warehouse) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def headline_editions(warehouse: Path) -> list[tuple]:
    """(headline_id, edition) of every sighting's page."""
    with read_warehouse(warehouse) as connection:
        return connection.execute(
            "SELECT DISTINCT s.headline_id, p.edition FROM headline_sightings AS s"
            " JOIN pages AS p USING (dump_id, page_id) ORDER BY ALL"
        ).fetchall()


def summarized_headline_editions(warehouse: Path) -> list[tuple]:
    """The same pairs from meta.dump_headlines, which views and checks read instead of the sightings."""
    with read_warehouse(warehouse) as connection:
        return connection.execute("SELECT DISTINCT headline_id, edition FROM meta.dump_headlines ORDER BY ALL").fetchall()


@pytest.fixture
def states(tmp_path):
    """Dumps that share articles (a truncated copy, a longer one) and headlines (spelled two
    ways, seen on several crawl dates)."""
    truncated = BODY[:1]
    longer = (*BODY, "Un troisième paragraphe ajouté plus tard.")
    ticker_a = ("Le Maroc gagne", "Hausse du prix du pain", "Titre du fil un")
    ticker_b = ("LE MAROC  GAGNE", "Titre du fil un", "Un autre titre du fil")
    return {
        "a-2026-01-01": [
            page("Article partagé", body=truncated, ticker=ticker_a),
            page("Seulement dans A", ticker=ticker_a),
        ],
        "b-2026-01-02": [
            page("Article partagé", ticker=ticker_b),
            page("Seulement dans B", ticker=ticker_b),
            page("Article partagé", body=longer, ticker=ticker_b, crawl_date="2026-01-05"),
        ],
        "c-2026-01-03": [
            page("Seulement dans C", ticker=ticker_a),
            page("Article partagé", ticker=ticker_a),
            {"text": make_page(edition="es", title="Solo en C", ticker=ticker_a)},
        ],
        "b-changed": [
            page("Seulement dans B, corrigé", ticker=ticker_a),
            page("Article partagé", body=truncated, ticker=ticker_b),
        ],
    }


@pytest.mark.slow  # builds and rebuilds a warehouse for every state
def test_every_incremental_publish_equals_a_rebuild(tmp_path, states):
    dumps, fresh = tmp_path / "dumps", tmp_path / "fresh"
    dumps.mkdir()
    warehouse = tmp_path / "w.ducklake"

    def check(step: str) -> None:
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        build(dumps, fresh / "w.ducklake")
        assert snapshot(warehouse) == snapshot(fresh / "w.ducklake"), step
        assert headline_editions(warehouse) == summarized_headline_editions(warehouse), step

    for name in ("a-2026-01-01", "b-2026-01-02", "c-2026-01-03"):
        jsonl_dump(dumps / f"{name}.jsonl", states[name])
        build(dumps, warehouse)
        check(f"after adding {name}")
    assert len({headline for headline, _ in headline_editions(warehouse)}) < len(headline_editions(warehouse))
    jsonl_dump(dumps / "b-2026-01-02.jsonl", states["b-changed"])
    build(dumps, warehouse)
    check("after changing b")
    (dumps / "c-2026-01-03.jsonl").unlink()
    build(dumps, warehouse)
    check("after removing c")
    with read_warehouse(warehouse) as connection:  # what the removal changed, for its checks
        assert connection.execute("SELECT count(*) FROM meta.changed_dumps").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM meta.changed_headlines").fetchone()[0] > 0


def test_the_longest_body_and_the_first_spelling_win_across_dumps(tmp_path, states):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for name in ("a-2026-01-01", "b-2026-01-02"):
        jsonl_dump(dumps / f"{name}.jsonl", states[name])
    build(dumps, tmp_path / "w.ducklake")
    with read_warehouse(tmp_path / "w.ducklake") as connection:
        body, first, last, sightings = connection.execute(
            "SELECT body, first_seen, last_seen, sightings FROM articles WHERE title = 'Article partagé'"
        ).fetchone()
        spelling = connection.execute("SELECT text FROM headlines WHERE text ILIKE 'le maroc%'").fetchall()
    assert body.endswith("Un troisième paragraphe ajouté plus tard.")
    assert (str(first), str(last), sightings) == ("2026-01-01", "2026-01-05", 3)
    assert spelling == [("Le Maroc gagne",)]  # crawled first (a, 2026-01-01), not "LE MAROC  GAGNE"


def test_a_repeated_page_id_holding_its_tickers_texts_leaves_its_group_counted(tmp_path):
    """A partition file holds a ticker's texts on the first page of each group of pages with
    the same edition, crawl date and ticker only. When that page repeats a page_id, the group's
    other pages are still counted with its texts; a group of repeated pages alone is not."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    jsonl_dump(
        dumps / "d-2026-01-01.jsonl",
        [
            page("Premier", id="same", ticker=("Fil un",)),
            page("Premier répété", id="same", ticker=("Fil deux",)),  # the first page of its group
            page("Autre", id="other", ticker=("Fil deux",)),
            page("Autre encore", id="other2", ticker=("Fil deux",)),
            page("Autre répété", id="other", ticker=("Fil trois",)),  # alone in its group
        ],
    )
    build(dumps, tmp_path / "w.ducklake")
    [part] = (tmp_path / "w.parts").glob("*.parquet")
    assert pl.read_parquet(part)["ticker"].drop_nulls().to_list() == [["Fil un"], ["Fil deux"], ["Fil trois"]]
    with read_warehouse(tmp_path / "w.ducklake") as connection:
        headlines = connection.execute("SELECT text, sightings FROM headlines ORDER BY text").fetchall()
        sightings = connection.execute("SELECT count(*) FROM headline_sightings").fetchone()
    assert headlines == [("Fil deux", 2), ("Fil un", 1)]
    assert sightings == (3,)
    [dump] = discover_dumps(dumps).dumps
    report = write_parsed_dump(dump, tmp_path / "again.parquet")
    assert (report.headline_sightings, report.by_status["duplicate_id"]) == (3, 2)


@pytest.mark.slow
def test_a_warehouse_of_another_layout_is_rebuilt(tmp_path, states):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    jsonl_dump(dumps / "a-2026-01-01.jsonl", states["a-2026-01-01"])
    warehouse = tmp_path / "w.ducklake"
    build(dumps, warehouse)
    expected = snapshot(warehouse)
    with written_warehouse(warehouse) as connection:  # as an older version left it
        connection.execute("DELETE FROM meta.publish_format")
        connection.execute("DELETE FROM meta.dump_articles")
    build(dumps, warehouse)
    assert snapshot(warehouse) == expected


def test_partition_files_of_an_older_layout_are_not_current(tmp_path):
    import polars as pl

    old = tmp_path / "old.parquet"
    pl.DataFrame({"dump_id": ["d"], "page_id": ["1"]}).write_parquet(old)
    assert not part_file_is_current(old)
    assert not part_file_is_current(tmp_path / "missing.parquet")
    new = tmp_path / "new.parquet"
    pl.DataFrame(schema=PART_SCHEMA).write_parquet(new)
    assert part_file_is_current(new)


def test_the_publish_refuses_partition_files_of_an_older_layout(tmp_path):
    import polars as pl

    old = tmp_path / "old-2026-01-01.parquet"
    pl.DataFrame({"dump_id": ["old-2026-01-01"], "page_id": ["1"]}).write_parquet(old)
    with Warehouse(str(tmp_path / "w.ducklake")).writer() as connection:
        with pytest.raises(ValueError, match="older newsdesk.*old-2026-01-01.parquet"):
            publish(connection, {"old-2026-01-01": old}, tmp_path)


@pytest.mark.slow
def test_the_publish_streams_within_a_small_memory_limit(tmp_path):
    """190,000 sightings and 4,000 articles published by a connection of 48 MB that may not
    spill to disk: the load streams instead of holding its input (at 16 MB it cannot start)."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    ticker = tuple(f"Titre du fil numéro {i}" for i in range(48))
    pages = [page(f"Article {i}", body=(f"Paragraphe {i} " * 40,), ticker=ticker) for i in range(4000)]
    jsonl_dump(dumps / "big-2026-01-01.jsonl", pages)
    build(dumps, tmp_path / "w.ducklake", memory_limit="48MB", temp_limit="0KB")
    with read_warehouse(tmp_path / "w.ducklake") as connection:
        assert connection.execute("SELECT count(*) FROM headline_sightings").fetchone() == (4000 * 48,)
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (4000,)


@pytest.mark.slow
def test_a_dump_of_more_article_text_than_the_memory_limit_is_published(tmp_path):
    """One dump of 20,000 articles of 7.5 KB (150 MB of text) published with 256 MB: the lake's
    Parquet writer holds a row group in memory until it is cut, and cut at 122,880 rows alone a
    row group held every text of the dump (a dump of 167,000 pages ran out of 600 MB)."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    pages = [page(f"Article {i}", body=(f"Paragraphe numéro {i:05d} " * 300,)) for i in range(20_000)]
    jsonl_dump(dumps / "long-2026-01-01.jsonl", pages)
    build(dumps, tmp_path / "w.ducklake", memory_limit="256MB")
    with read_warehouse(tmp_path / "w.ducklake") as connection:
        assert connection.execute("SELECT count(*), sum(strlen(body)) > 149_000_000 FROM articles").fetchone() == (20_000, True)


def test_the_writer_gives_a_lake_the_options_it_lacks_and_keeps_its_own(tmp_path):
    """A lake made without newsdesk's options (or by an older newsdesk) gets them from its next
    writer, without a snapshot; an option its owner set keeps the owner's value."""
    from newsdesk.warehouse import CATALOG, connect_with_extensions

    warehouse = Warehouse(str(tmp_path / "w.ducklake"))
    warehouse.data_dir.mkdir()
    with connect_with_extensions() as connection:
        connection.execute(warehouse.attach_statement(read_only=False))
        connection.execute(f"CALL {CATALOG}.set_option('parquet_compression', 'snappy')")
    with warehouse.writer() as connection:
        options = dict(connection.execute(f"SELECT option_name, value FROM {CATALOG}.options()").fetchall())
        snapshots = connection.execute(f"SELECT count(*) FROM {CATALOG}.snapshots()").fetchone()[0]
    assert options["parquet_compression"] == "snappy"
    assert options["parquet_row_group_size_bytes"] == "16000000"
    assert options["data_inlining_row_limit"] == "0"
    assert snapshots == 1  # the lake's creation only


_page_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
    st.text(max_size=200).map(lambda text: text.encode("utf-8-sig")),
    st.text(max_size=200).map(lambda text: text.encode("utf-16")),
    st.sampled_from([make_page("fr", title="Élections à Fès"), make_page("ar", source="هسبريس")]).flatmap(
        lambda text: st.sampled_from(["utf-8", "cp1252", "cp1256", "utf-16"]).map(
            lambda encoding: text.encode(encoding, errors="replace")
        )
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_page_bytes, min_size=1, max_size=140))
def test_batch_decoding_equals_page_decoding(pages):
    decoded = decode_pages(pages, EDITIONS)
    expected = [decode_page(raw, EDITIONS) for raw in pages]
    assert decoded.rows() == [(d.text, d.encoding, d.status, d.detail) for d in expected]


def test_a_long_dump_name_in_any_script_gets_a_short_partition_file(tmp_path):
    dump_id = "مغرس-" + "ا" * 38 + "-2026-01-01"  # URL-quoted, its name would pass 255 bytes
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    jsonl_dump(dumps / f"{dump_id}.jsonl", [page("Un titre")])
    build(dumps, tmp_path / "w.ducklake")
    [part] = (tmp_path / "w.parts").glob("*.parquet")
    assert len(part.name.encode()) < 64
    with read_warehouse(tmp_path / "w.ducklake") as connection:
        assert connection.execute("SELECT DISTINCT dump_id FROM pages").fetchall() == [(dump_id,)]


@pytest.fixture
def logged_dump(tmp_path, monkeypatch):
    """A 60-page dump whose parse logs its progress every millisecond."""
    monkeypatch.setattr(parsing, "PROGRESS_LOG_SECONDS", 0.001)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    write_jsonl_dump(dumps / "maghress-fr-2026-01-01.jsonl", pages=60)
    return discover_dumps(dumps).dumps[0]


def test_the_parse_goes_on_while_a_progress_line_waits_to_be_stored(logged_dump, tmp_path, monkeypatch):
    """Dagster stores a progress line in SQLite, whose commit can wait seconds for a disk busy
    reading a dump: the parse does not wait with it. Here the first line is stored only once
    every batch is parsed; a parse that logged between its batches would never get there."""
    parsed_whole = threading.Event()
    parsed_batches = parsing._parsed_batches

    def batches_then_signal(*args):
        yield from parsed_batches(*args)
        parsed_whole.set()

    monkeypatch.setattr(parsing, "_parsed_batches", batches_then_signal)
    stored_after_the_parse = []

    def slow_log(line: str) -> None:
        if not stored_after_the_parse:  # the first line's commit waits until the parse is done
            stored_after_the_parse.append(parsed_whole.wait(timeout=30))

    report = write_parsed_dump(logged_dump, tmp_path / "part.parquet", limits=ReadLimits(batch_pages=5), log=slow_log)
    assert report.pages == 60
    assert stored_after_the_parse == [True]


def test_a_progress_line_that_cannot_be_stored_fails_the_parse_with_its_error(logged_dump, tmp_path):
    """The progress thread does not swallow the event log's error (a full disk, say): the parse
    raises it, as a parse that logged between its batches did, and no partition file is left."""

    def failing_log(line: str) -> None:
        raise OSError("database or disk is full")

    target = tmp_path / "part.parquet"
    with pytest.raises(OSError, match="disk is full"):
        write_parsed_dump(logged_dump, target, limits=ReadLimits(batch_pages=5), log=failing_log)
    assert not target.exists()
