import gzip
import io
import json
import os
import tarfile
import zipfile
from datetime import date

import polars as pl
import pytest

from newsdesk.readers import DUMP_FORMATS, discover_dumps, read_dump
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.transforms.editions import load_editions
from tests.builders import make_page

PAGE = make_page()


def read_all(dump, editions, **options) -> pl.DataFrame:
    return pl.concat(list(read_dump(dump, editions, **options)))


def only_dump(folder):
    listing = discover_dumps(folder)
    assert len(listing.dumps) == 1, listing
    return listing.dumps[0]


def test_bundled_samples_hold_one_dump_per_format():
    formats = {dump.format for dump in discover_dumps(SAMPLE_DUMPS_DIR).dumps}
    assert formats == {"folder", *(suffix[1:] for suffix in DUMP_FORMATS)}


def test_folder_pages_are_found_recursively_with_relative_page_ids(tmp_path, editions):
    dump = tmp_path / "dumps" / "site-2026-01-05"
    (dump / "a" / "b").mkdir(parents=True)
    (dump / "a" / "b" / "deep.txt").write_text(PAGE)
    (dump / "top.txt").write_text(PAGE)
    (dump / "notes.md").write_text("not a page")
    frame = read_all(only_dump(tmp_path / "dumps"), editions)
    assert frame["page_id"].to_list() == ["a/b/deep", "top"]
    assert frame["crawl_date"].to_list() == [date(2026, 1, 5)] * 2


def test_jsonl_ids_line_numbers_dates_and_bad_records(tmp_path, editions):
    lines = [
        json.dumps({"id": "x1", "text": PAGE, "url": "http://a", "crawl_date": "2025-12-01T10:00:00Z"}),
        json.dumps({"text": PAGE, "date": "2025-12-02"}),
        "",
        "{not json",
        json.dumps({"id": 7}),
        json.dumps({"id": "n", "text": None}),
        json.dumps({"text": PAGE}),
    ]
    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "feed_20251130.jsonl.gz", "wt") as out:
        out.write("\n".join(lines) + "\n")
    dump = only_dump(tmp_path / "d")
    assert (dump.dump_id, dump.format) == ("feed_20251130", "jsonl.gz")
    frame = read_all(dump, editions)
    assert frame["page_id"].to_list() == ["x1", "2", "4", "7", "n", "7"]
    assert frame["status"].to_list() == [None, None, "bad_record", "bad_record", "bad_record", None]
    assert frame["crawl_date"].to_list() == [date(2025, 12, 1), date(2025, 12, 2)] + [date(2025, 11, 30)] * 4
    assert frame["url"][0] == "http://a"


def test_zstd_jsonl(tmp_path, editions):
    import zstandard

    (tmp_path / "d").mkdir()
    payload = (json.dumps({"id": "z", "text": PAGE}) + "\n").encode()
    (tmp_path / "d" / "z.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    frame = read_all(only_dump(tmp_path / "d"), editions)
    assert frame.select("page_id", "text").rows() == [("z", PAGE)]
    assert frame["crawl_date"][0] is None


def test_parquet_ids_row_numbers_and_null_text(tmp_path, editions):
    (tmp_path / "d").mkdir()
    pl.DataFrame({"id": ["p", None, "q"], "text": [PAGE, PAGE, None], "crawl_date": ["2024-05-06", None, None]}).write_parquet(
        tmp_path / "d" / "pq-2024-05-01.parquet"
    )
    frame = read_all(only_dump(tmp_path / "d"), editions, batch_size=2)
    assert frame["page_id"].to_list() == ["p", "2", "q"]
    assert frame["status"].to_list() == [None, None, "bad_record"]
    assert frame["crawl_date"].to_list() == [date(2024, 5, 6), date(2024, 5, 1), date(2024, 5, 1)]


def test_zip_and_tar_members(tmp_path, editions):
    (tmp_path / "d").mkdir()
    with zipfile.ZipFile(tmp_path / "d" / "z.zip", "w") as archive:
        archive.writestr("x/one.txt", PAGE.encode("cp1252"))
        archive.writestr("readme.md", "not a page")
    with tarfile.open(tmp_path / "d" / "t.tar.gz", "w:gz") as archive:
        data = PAGE.encode()
        member = tarfile.TarInfo("./y/two.txt")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
        link = tarfile.TarInfo("evil.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    dumps = {dump.dump_id: dump for dump in discover_dumps(tmp_path / "d").dumps}
    zipped = read_all(dumps["z"], editions)
    assert zipped.select("page_id", "encoding", "text").rows() == [("x/one", "cp1252", PAGE)]
    tarred = read_all(dumps["t"], editions)
    assert tarred.select("page_id", "status").rows() == [("y/two", None), ("evil", "unsafe_member")]


def test_oversized_pages_are_recorded_not_read(tmp_path, editions):
    (tmp_path / "d" / "f").mkdir(parents=True)
    (tmp_path / "d" / "f" / "big.txt").write_text(PAGE * 10)
    (tmp_path / "d" / "f" / "small.txt").write_text(PAGE)
    frame = read_all(only_dump(tmp_path / "d"), editions, max_page_bytes=len(PAGE.encode()) * 2)
    assert frame.select("page_id", "status").rows() == [("big", "too_large"), ("small", None)]


def test_discovery_reports_what_it_skips(tmp_path):
    (tmp_path / "a-2026-01-01").mkdir()
    (tmp_path / "a-2026-01-01.jsonl").write_text("")
    (tmp_path / "notes.csv").write_text("")
    (tmp_path / "_SUCCESS").write_text("")
    listing = discover_dumps(tmp_path)
    assert [dump.dump_id for dump in listing.dumps] == ["a-2026-01-01"]
    assert sorted(name for name, _ in listing.skipped) == ["a-2026-01-01.jsonl", "notes.csv"]


def test_missing_dumps_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="dumps folder not found"):
        discover_dumps(tmp_path / "nope")


@pytest.mark.parametrize(("name", "expected"), [("x-2026-02-30-20250101", date(2025, 1, 1)), ("undated", None)])
def test_crawl_date_from_dump_name(tmp_path, name, expected):
    (tmp_path / name).mkdir()
    assert only_dump(tmp_path).crawl_date_from_name == expected


def test_special_files_are_rejected_without_being_opened(tmp_path):
    dump = tmp_path / "d-2026-01-01"
    dump.mkdir()
    (dump / "page.txt").write_text(make_page())
    os.mkfifo(dump / "fifo.txt")  # opened for reading, it would block the run forever
    (dump / "to-fifo.txt").symlink_to(dump / "fifo.txt")
    (dump / "dangling.txt").symlink_to(dump / "nothing.txt")
    [found] = discover_dumps(tmp_path).dumps
    rows = pl.concat(read_dump(found, load_editions())).select("page_id", "status").sort("page_id").rows()
    assert rows == [
        ("dangling", "unreadable"),
        ("fifo", "unsafe_member"),
        ("page", None),
        ("to-fifo", "unsafe_member"),
    ]
