import gzip
import io
import json
import os
import subprocess
import sys
import time
import tarfile
import zipfile
from datetime import date

import numpy as np
import polars as pl
import pytest

from newsdesk import readers
from newsdesk.readers import DUMP_FORMATS, ReadLimits, discover_dumps, read_dump
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.transforms.editions import load_editions
from tests.builders import REPOSITORY, make_page, out_of_page_cache, wet_pages, write_wet

PAGE = make_page()


def read_all(dump, editions, limits=ReadLimits()) -> pl.DataFrame:
    return pl.concat(list(read_dump(dump, editions, limits)))


def only_dump(folder):
    listing = discover_dumps(folder)
    assert len(listing.dumps) == 1, listing
    return listing.dumps[0]


def test_bundled_samples_hold_one_dump_per_format():
    formats = {dump.format for dump in discover_dumps(SAMPLE_DUMPS_DIR).dumps}
    # An uncompressed WET file is read as its .gz is, once decompressed (tested below).
    assert formats == {"folder", *(suffix[1:] for suffix in DUMP_FORMATS)} - {"warc.wet"}


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


def test_jsonl_lines_that_only_python_json_reads_keep_their_values(tmp_path, editions):
    """A lone surrogate, an integer past 64 bits, NaN: the fast JSON reader refuses these or reads
    them otherwise, and the line is read as Python's json reads it."""
    lines = [
        '{"id": "a\\udc80", "text": "Une page"}',
        '{"id": 123456789012345678901234567890, "text": "Une page"}',
        '{"id": "nan", "text": NaN}',
        '{"id": "emoji", "text": "Un \\ud83d\\ude00"}',
    ]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "odd.jsonl").write_text("\n".join(lines) + "\n")
    frame = read_all(only_dump(tmp_path / "d"), editions)
    assert frame.select("page_id", "text", "status", "detail").rows() == [
        ("a\\x80", "Une page", None, None),
        ("123456789012345678901234567890", "Une page", None, None),
        ("nan", None, "bad_record", "text is a float"),
        ("emoji", "Un \U0001f600", None, None),
    ]


# Lines that pyarrow reads, with their batch, as json reads them one at a time...
_LINES_READ_TOGETHER = [
    '{"id": "plain", "text": "Une page", "url": "http://a", "crawl_date": "2025-12-01"}',
    '{"text": "sans id", "crawl_date": "", "date": "2025-12-02"}',
    '{"id": "empty", "text": ""}',
    '{"id": "escapes", "te\\u0078t": "a\\u0000b \\ud83d\\ude00 \\"q\\" \\\\x41"}',
    '{"id": "extras", "text": "x", "n": NaN, "m": Infinity, "big": 123456789012345678901234567890, "n": 2}',
    '  {"id": "spaced", "text": "x"}\r',
    '{"id": "no text"}',
    '{"id": "null text", "text": null}',
    '{"id": "deep", "text": "x", "d": ' + "[" * 5000 + "]" * 5000 + "}",
]
# ... and lines it refuses, which make its batch read one line at a time.
_LINES_READ_ALONE = [
    '{"id": 7, "text": "x"}',
    '{"id": "twice", "text": "a", "text": "b"}',
    '{"id": "lone", "text": "a\\udc80"}',
    '{"id": "a"} {"id": "b"}',
    '{"id": "nan", "text": NaN}',
    "{not json",
    '\ufeff{"id": "bom", "text": "x"}',  # after the batch's first line
    '{"id": "latin-1", "text": "x", "other": "caf\udce9"}',  # the byte 0xE9, where pyarrow does not look
]


def jsonl(lines: list[str]) -> bytes:
    """The lines as a file's bytes; lone surrogates stand for bytes that are not UTF-8."""
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("odd", _LINES_READ_ALONE)
def test_jsonl_lines_read_together_give_the_pages_read_one_at_a_time(tmp_path, editions, odd):
    """A batch's JSON lines are read together, unless one of them is refused: then every line of
    the batch is read one at a time, and the pages are the same either way."""
    assert readers._read_json_lines(jsonl(_LINES_READ_TOGETHER)) is not None
    refused = readers._read_json_lines(jsonl([*_LINES_READ_TOGETHER, odd]))
    assert refused is None or refused.num_rows > len(_LINES_READ_TOGETHER) + 1  # two objects on a line
    frames = {}
    for name, lines in {"together": _LINES_READ_TOGETHER, "alone": [*_LINES_READ_TOGETHER, odd]}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "feed_20251130.jsonl").write_bytes(jsonl(lines))
        frames[name] = read_all(only_dump(tmp_path / name), editions)
    together, alone = frames["together"], frames["alone"]
    assert alone.height == together.height + 1
    assert alone.head(together.height).equals(together)
    assert together.select("page_id", "status", "detail").rows() == [
        ("plain", None, None), ("2", None, None), ("empty", None, None), ("escapes", None, None),
        ("extras", None, None), ("spaced", None, None),
        ("no text", "bad_record", "record has no text field"), ("null text", "bad_record", "text is null"),
        ("deep", None, None),
    ]
    assert together["text"][3] == 'a\x00b \U0001f600 "q" \\x41'
    assert together["crawl_date"][:2].to_list() == [date(2025, 12, 1), date(2025, 12, 2)]


def _lines_as_split(data: bytes, limit: int) -> list[tuple[str, str | None, int]]:
    """(page_id, status, size_bytes) per line of a JSON lines file, from a split of the whole
    file: blank lines skipped, a line's leading carriage returns not its own, a line past the
    limit too large."""
    pages = []
    pieces = data.split(b"\n")
    for number, piece in enumerate(pieces, start=1):
        line = piece if number == len(pieces) else piece + b"\n"
        if not line.strip():
            continue
        line = line.lstrip(b"\r")
        too_large = len(line.rstrip(b"\n")) > limit
        page_id = json.loads(line)["id"] if not too_large else str(number)
        pages.append((page_id, "too_large" if too_large else None, len(line)))
    return pages


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096, 1 << 20])
@pytest.mark.parametrize("name", ["f.jsonl", "f.jsonl.gz"])
def test_jsonl_lines_found_chunk_by_chunk_are_those_of_the_whole_file(tmp_path, editions, monkeypatch, chunk, name):
    """Whatever chunks the stream comes in: lines across chunk ends, longer than a chunk, past the
    page limit (before or after their last chunk), blank, ending in CRLF, starting with CR, and
    a last line without its end."""
    limit = 300
    def line(i, size):  # a line of exactly size bytes
        return json.dumps({"id": f"p{i}", "text": "x" * (size - len(json.dumps({"id": f"p{i}", "text": ""})))}).encode()
    data = b"\n".join([
        b"", line(1, 50), b"  \t", line(2, 290), line(3, 301), line(4, 298) + b"\r", b"\r\r" + line(5, 120),
        b"\r", line(6, 5_000), line(7, limit), b"", b"", line(8, 30), line(9, limit + 1),
    ])
    monkeypatch.setattr(readers, "_LINES_CHUNK", chunk)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    frame = read_all(only_dump(tmp_path / "d"), editions, ReadLimits(max_page_bytes=limit))
    expected = _lines_as_split(data, limit)
    assert [status for _, status, _ in expected].count("too_large") == 3  # lines 3, 6 and 9
    assert frame.select("page_id", "status", "size_bytes").rows() == expected
    kept = frame.filter(pl.col("status").is_null())
    assert kept["text"].str.len_bytes().to_list() == [
        len(json.loads(line)["text"]) for line in data.split(b"\n") if line.strip() and len(line.strip()) <= limit
    ]


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
    frame = read_all(only_dump(tmp_path / "d"), editions, ReadLimits(batch_pages=2))
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
    frame = read_all(only_dump(tmp_path / "d"), editions, ReadLimits(max_page_bytes=len(PAGE.encode()) * 2))
    assert frame.select("page_id", "status").rows() == [("big", "too_large"), ("small", None)]


def test_discovery_reports_what_it_skips(tmp_path):
    (tmp_path / "a-2026-01-01").mkdir()
    (tmp_path / "a-2026-01-01.jsonl").write_text("")
    (tmp_path / "notes.csv").write_text("")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "elsewhere").symlink_to(tmp_path.parent)
    listing = discover_dumps(tmp_path)
    assert [dump.dump_id for dump in listing.dumps] == ["a-2026-01-01"]
    reasons = dict(listing.skipped)
    assert sorted(reasons) == ["_SUCCESS", "a-2026-01-01.jsonl", "elsewhere", "notes.csv"]
    assert "markers" in reasons["_SUCCESS"]
    assert "outside the dumps folder" in reasons["elsewhere"]


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


def test_reading_a_folder_dump_takes_the_signature_a_stat_of_its_files_gives(tmp_path, editions):
    """The files a read counts, from the stat that reading each takes, give the signature that a
    stat of every listed file gives, whatever the files are; a read stopped by its limits has
    not counted them all."""
    dump = tmp_path / "d-2026-01-01"
    (dump / "sub").mkdir(parents=True)
    (dump / "page.txt").write_text(make_page())
    (dump / "sub" / "big.txt").write_text(make_page() * 3)
    (dump / "notes.md").write_text("not a page")
    os.mkfifo(dump / "fifo.txt")
    (dump / "link.txt").symlink_to(dump / "sub" / "big.txt")
    (dump / "outside.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text(make_page() * 5)
    (dump / "dangling.txt").symlink_to(dump / "nothing.txt")
    (dump / "linked-folder").symlink_to(dump / "sub")
    os.utime(dump / "notes.md", ns=(1, 2_000_000_000_000_000_000))  # the newest file is not a page
    limits = ReadLimits(max_page_bytes=len(make_page().encode()) * 2)
    files = readers.DumpFiles()
    pages = pl.concat(read_dump(only_dump(tmp_path), editions, limits, files))
    assert pages.height == 7 and files.complete
    assert files.signature("folder") == only_dump(tmp_path).signature
    assert files.signature("folder").startswith("8:")
    (dump / "page.txt").write_text(make_page() + "more")
    assert files.signature("folder") != only_dump(tmp_path).signature
    stopped = readers.DumpFiles()
    list(read_dump(only_dump(tmp_path), editions, ReadLimits(max_dump_records=2), stopped))
    assert not stopped.complete


def batches_of(path, limits=ReadLimits()):
    return list(read_dump(only_dump(path), load_editions(), limits))


def page_of(size: int) -> str:
    """A real page layout whose body brings it to about size bytes."""
    paragraph = "Le Raja remporte le derby face au Wydad. "
    return make_page(body=(paragraph * (size // len(paragraph)),))


@pytest.mark.parametrize("shape", ["folder", "jsonl.gz", "zip", "parquet"])
def test_a_batch_is_bounded_in_bytes_not_only_in_pages(tmp_path, shape):
    pages = [page_of(30_000)] * 12
    folder = tmp_path / "d"
    folder.mkdir()
    if shape == "folder":
        (folder / "f").mkdir()
        for i, page in enumerate(pages):
            (folder / "f" / f"{i:02}.txt").write_text(page)
    elif shape == "jsonl.gz":
        with gzip.open(folder / "f.jsonl.gz", "wt") as out:
            out.writelines(json.dumps({"id": str(i), "text": page}) + "\n" for i, page in enumerate(pages))
    elif shape == "zip":
        with zipfile.ZipFile(folder / "f.zip", "w") as archive:
            for i, page in enumerate(pages):
                archive.writestr(f"{i:02}.txt", page)
    else:
        pl.DataFrame({"id": [str(i) for i in range(12)], "text": pages}).write_parquet(folder / "f.parquet")
    limits = ReadLimits(batch_bytes=100_000, max_expansion=10_000)
    batches = batches_of(folder, limits)
    assert sum(batch.height for batch in batches) == 12
    assert all(batch["status"].is_null().all() for batch in batches)
    assert max(int(batch["size_bytes"].sum()) for batch in batches) <= 100_000
    assert len(batches) == 4  # three pages of ~30 KB a batch


def test_a_parquet_text_over_the_page_limit_is_too_large_and_not_decoded(tmp_path):
    (tmp_path / "d").mkdir()
    big, small = page_of(50_000), page_of(1_000)
    pl.DataFrame({"id": ["big", "small", "big-again"], "text": [big, small, big]}).write_parquet(tmp_path / "d" / "p.parquet")
    frame = pl.concat(batches_of(tmp_path / "d", ReadLimits(max_page_bytes=10_000)))
    assert frame.select("page_id", "status").rows() == [("big", "too_large"), ("small", None), ("big-again", "too_large")]
    assert frame["text"].to_list() == [None, small, None]
    assert frame["size_bytes"][0] == len(big.encode())


def test_a_value_repeated_on_many_parquet_rows_is_decoded_in_bounded_pieces(tmp_path):
    (tmp_path / "d").mkdir()
    page = page_of(40_000)
    pl.DataFrame({"text": [page] * 50}).write_parquet(tmp_path / "d" / "p.parquet")  # one dictionary value
    batches = batches_of(tmp_path / "d", ReadLimits(batch_bytes=100_000, max_expansion=1e9))
    assert sum(batch.height for batch in batches) == 50
    assert max(int(batch["size_bytes"].sum()) for batch in batches) <= 100_000


@pytest.mark.parametrize(
    ("limits", "reason", "kept"),
    [
        (ReadLimits(max_dump_records=3), "max_dump_records", 3),
        (ReadLimits(max_dump_bytes=2 * len(PAGE.encode()) + 200), "max_dump_bytes", 2),
    ],
)
def test_a_dump_past_its_limits_stops_with_a_row_that_says_why(tmp_path, limits, reason, kept):
    (tmp_path / "d").mkdir()
    with open(tmp_path / "d" / "f.jsonl", "w") as out:
        out.writelines(json.dumps({"id": str(i), "text": PAGE}) + "\n" for i in range(10))
    frame = pl.concat(batches_of(tmp_path / "d", limits))
    assert frame["status"].to_list()[:-1] == [None] * kept  # every page before the limit
    assert frame.row(-1, named=True)["page_id"] == "f.jsonl#stopped"
    assert frame.row(-1, named=True)["status"] == "too_large"
    assert reason in frame.row(-1, named=True)["detail"]


@pytest.mark.parametrize("garbage", [b"\n" * 20_000_000, b"x" * 99 + b"\n"], ids=["newlines", "lines that are not JSON"])
def test_compressed_garbage_stops_at_the_expansion_limit(tmp_path, garbage):
    (tmp_path / "d").mkdir()
    garbage = garbage if len(garbage) > 100 else garbage * 200_000  # 20 MB of lines that are not JSON
    (tmp_path / "d" / "g.jsonl.gz").write_bytes(gzip.compress(garbage, compresslevel=9))
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame.height < 100_000  # 200,000 garbage lines would be 200,000 rows
    stop = frame.row(-1, named=True)
    assert (stop["page_id"], stop["status"]) == ("g.jsonl.gz#stopped", "too_large")
    assert "max_expansion" in stop["detail"]


def test_a_gzip_file_of_several_members_padded_with_zeros_is_read_whole(tmp_path):
    (tmp_path / "d").mkdir()
    members = [gzip.compress((json.dumps({"id": f"p{i}", "text": PAGE}) + "\n").encode()) for i in range(3)]
    (tmp_path / "d" / "t.jsonl.gz").write_bytes(members[0] + members[1] + bytes(100) + members[2] + bytes(10))
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame["page_id"].to_list() == ["p0", "p1", "p2"] and frame["status"].to_list() == [None] * 3


def test_a_truncated_or_corrupt_zstd_keeps_the_pages_before_the_damage(tmp_path):
    import zstandard

    (tmp_path / "d").mkdir()
    payload = "".join(json.dumps({"id": f"p{i}", "text": f"{PAGE} {i}"}) + "\n" for i in range(2000)).encode()
    compressed = zstandard.ZstdCompressor().compress(payload)
    (tmp_path / "d" / "t.jsonl.zst").write_bytes(compressed[: len(compressed) // 2])
    frame = pl.concat(batches_of(tmp_path / "d"))
    kept = frame.filter(pl.col("status").is_null())
    assert 0 < kept.height < 2000
    assert kept["page_id"].to_list() == [f"p{i}" for i in range(kept.height)]
    damage = frame.filter(pl.col("status") == "bad_record").rows(named=True)
    assert [row["page_id"] for row in damage][-1] == "t.jsonl.zst#truncated"
    assert "inside a frame" in damage[-1]["detail"]
    corrupt = bytearray(zstandard.ZstdCompressor().compress(payload))
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 64] = bytes(64)
    (tmp_path / "d" / "t.jsonl.zst").write_bytes(bytes(corrupt))
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame.row(-1, named=True)["page_id"] == "t.jsonl.zst#truncated"


@pytest.mark.parametrize("name", ["CC-MAIN-20260105-00042.warc.wet.gz", "CC-MAIN-20260105-00042.warc.wet"])
def test_wet_conversion_records_are_pages_and_other_records_give_no_row(tmp_path, editions, name):
    (tmp_path / "d").mkdir()
    records = wet_pages(3)
    records.insert(2, ("metadata", "<urn:uuid:meta>", "https://www.maghress.com/fr/0", "2026-01-07T00:00:00Z", b"x: y\r\n"))
    write_wet(tmp_path / "d" / name, records, compressed=name.endswith(".gz"))
    dump = only_dump(tmp_path / "d")
    assert dump.dump_id == "CC-MAIN-20260105-00042"
    frame = read_all(dump, editions)
    assert frame["page_id"].to_list() == ["<urn:uuid:0>", "<urn:uuid:1>", "<urn:uuid:2>"]
    assert frame["url"].to_list() == [f"https://www.maghress.com/fr/{i}" for i in range(3)]
    # The day of each record's WARC-Date, not the date in the file's name.
    assert frame["crawl_date"].to_list() == [date(2026, 1, 7)] * 3
    assert frame["status"].to_list() == [None] * 3 and frame["text"][0] == make_page(title="Article 0")


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "plain truncated"])
def test_a_damaged_wet_file_keeps_the_records_before_the_damage(tmp_path, damage):
    (tmp_path / "d").mkdir()
    name = "t.warc.wet" if damage == "plain truncated" else "t.warc.wet.gz"
    write_wet(tmp_path / "d" / name, wet_pages(2000, lambda i: page_of(3000) + str(i)), compressed=name.endswith(".gz"))
    data = bytearray((tmp_path / "d" / name).read_bytes())
    middle = len(data) // 2
    if damage == "corrupt":
        data[middle : middle + 64] = bytes(64)
    else:
        del data[middle:]
    (tmp_path / "d" / name).write_bytes(bytes(data))
    frame = pl.concat(batches_of(tmp_path / "d"))
    kept = frame.filter(pl.col("status").is_null())
    assert 900 < kept.height < 1100
    assert kept["page_id"].to_list() == [f"<urn:uuid:{i}>" for i in range(kept.height)]
    rejected = frame.filter(pl.col("status").is_not_null()).rows(named=True)
    assert {row["status"] for row in rejected} == {"bad_record"}
    cut = [row for row in rejected if row["page_id"] == f"<urn:uuid:{kept.height}>"]
    if damage == "plain truncated":  # the file ends cleanly inside a record: that record is the damage
        assert len(cut) == 1 and "the record ends after" in cut[0]["detail"]
    else:  # the stream breaks: its row says so, after the record it broke in, if that one was begun
        assert rejected[-1]["page_id"] == "t.warc.wet.gz#truncated" and "stream ends early" in rejected[-1]["detail"]
        assert len(rejected) == len(cut) + 1


def test_a_wet_record_over_the_page_limit_is_too_large_unread(tmp_path):
    (tmp_path / "d").mkdir()
    write_wet(tmp_path / "d" / "t.warc.wet.gz", wet_pages(3, lambda i: page_of(5000 if i == 1 else 500)))
    frame = pl.concat(batches_of(tmp_path / "d", ReadLimits(max_page_bytes=2000)))
    assert frame["status"].to_list() == [None, "too_large", None]
    assert frame["text"][1] is None and frame["size_bytes"][1] > 2000


def test_a_wet_conversion_record_without_an_id_is_a_bad_record(tmp_path):
    (tmp_path / "d").mkdir()
    text = make_page().encode()
    record = (b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://www.maghress.com/fr/x\r\n"
              b"WARC-Date: 2026-01-07T10:00:00Z\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" % (len(text), text))
    (tmp_path / "d" / "t.warc.wet").write_bytes(record)
    [row] = pl.concat(batches_of(tmp_path / "d")).rows(named=True)
    assert (row["page_id"], row["status"], row["url"]) == ("1", "bad_record", "https://www.maghress.com/fr/x")
    assert "WARC-Record-ID" in row["detail"]


def test_parquet_text_columns_of_other_types(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d").mkdir()
    dump = tmp_path / "d" / "p.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": [PAGE.encode("cp1252"), PAGE.encode(), None]}), dump)
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame.select("page_id", "encoding", "text", "status").rows() == [
        ("a", "cp1252", PAGE, None), ("b", "utf-8", PAGE, None), ("c", "parquet", None, "bad_record")
    ]
    pq.write_table(pa.table({"id": ["a", "b"], "text": [["x"], ["y", "z"]]}), dump)
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame["status"].to_list() == ["bad_record", "bad_record"]
    assert frame["detail"][0].startswith("text is a list")
    pq.write_table(pa.table({"id": ["a", "b"], "body": [PAGE, PAGE]}), dump)
    frame = pl.concat(batches_of(tmp_path / "d"))
    assert frame.select("page_id", "status", "detail").rows() == [("a", "bad_record", "no text column")] * 1 + [
        ("b", "bad_record", "no text column")
    ]
    pq.write_table(pa.table({"body": [PAGE, PAGE]}), dump)
    assert pl.concat(batches_of(tmp_path / "d"))["page_id"].to_list() == ["1", "2"]
    # Text as a categorical (dictionary) or a view type, as pandas and newer writers store it, is text.
    for text in (
        pa.array([PAGE, PAGE]).dictionary_encode(),
        pa.array([PAGE, PAGE], pa.string_view()),
        pa.array([PAGE.encode(), PAGE.encode()], pa.binary_view()),
    ):
        pq.write_table(pa.table({"id": ["a", "b"], "text": text}), dump)
        frame = pl.concat(batches_of(tmp_path / "d"))
        assert frame.select("page_id", "text", "status").rows() == [("a", PAGE, None), ("b", PAGE, None)], text.type


def test_a_piece_of_parquet_bytes_with_nothing_to_decode_gives_its_rows(tmp_path):
    """Text stored as bytes, where a whole piece is null or over the page limit: each row gets
    its reason (there was once nothing to decode and the dump failed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d").mkdir()
    texts = pa.array([None, page_of(6_000).encode(), PAGE.encode()], pa.large_binary())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": texts}), tmp_path / "d" / "p.parquet", row_group_size=2)
    frame = pl.concat(batches_of(tmp_path / "d", ReadLimits(max_page_bytes=5_000)))
    assert frame.select("page_id", "status").rows() == [("a", "bad_record"), ("b", "too_large"), ("c", None)]
    assert frame["text"][2] == PAGE


def test_folders_that_cannot_be_listed_give_a_row(tmp_path):
    dump = tmp_path / "d" / "deep"
    dump.mkdir(parents=True)
    (dump / "page.txt").write_text(PAGE)
    # A folder path past PATH_MAX (4096 bytes) cannot be opened by its path: made level by level.
    folder = os.open(dump, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(20):
        folder = deeper(folder, "n" * 250)
    os.close(os.open("lost.txt", os.O_CREAT | os.O_WRONLY, dir_fd=folder))
    os.close(folder)
    rows = pl.concat(batches_of(tmp_path / "d")).select("page_id", "status", "detail").rows()
    assert rows[-1][0] == "page" and rows[-1][1] is None
    unreadable = [row for row in rows if row[1] == "unreadable"]
    assert len(unreadable) == 1 and unreadable[0][0].endswith("/") and "not read" in unreadable[0][2]


def test_a_folder_dumps_pages_come_in_the_order_of_their_relative_paths(tmp_path):
    """The pages come in the order of their relative paths: "a.txt" and "a-b/..." before
    "a/..." ("." and "-" sort before "/"), and a folder that cannot be listed where its own
    path sorts."""
    dump = tmp_path / "d" / "dump-2026-01-01"
    names = ["a.txt", "a/x.txt", "a/b.txt", "a/b/z.txt", "a-b/y.txt", "ab.txt", "a b/w.txt", "B.txt", "é/q.txt", "z.txt"]
    for name in names:
        (dump / name).parent.mkdir(parents=True, exist_ok=True)
        (dump / name).write_text(PAGE)
    # Folders level by level until one cannot be opened by its path (past PATH_MAX), with two
    # pages beside it whose names sort around its own: "n…n-1.txt" and "n…n.txt" (which, past
    # PATH_MAX too, are unreadable pages).
    (dump / "deep").mkdir()
    folder, relative = os.open(dump / "deep", os.O_RDONLY | os.O_DIRECTORY), "deep"
    while len(str(dump)) + len(relative) < 4096:
        for page in ("n" * 240 + "-1.txt", "n" * 240 + ".txt"):
            os.close(os.open(page, os.O_CREAT | os.O_WRONLY, dir_fd=folder))
            names.append(f"{relative}/{page}")
        folder = deeper(folder, "n" * 240)
        relative += "/" + "n" * 240
    os.close(folder)
    keyed = [(name, name[: -len(".txt")]) for name in names] + [(relative, relative + "/")]
    expected = [page_id for _, page_id in sorted(keyed)]
    rows = pl.concat(batches_of(tmp_path / "d")).select("page_id", "status").rows()
    assert [page_id for page_id, _ in rows] == expected
    assert dict(rows)[relative + "/"] == "unreadable"


def test_a_folder_dump_thousands_of_folders_deep_is_read(tmp_path):
    """The walk keeps a stack of the folders it is in, not a recursion: 1,500 levels (a path
    still under PATH_MAX) are read, each page where its path sorts."""
    dump = tmp_path / "d" / "dump-2026-01-01"
    dump.mkdir(parents=True)
    folder, expected = os.open(dump, os.O_RDONLY | os.O_DIRECTORY), []
    try:
        for level in range(1500):
            if level % 100 == 0:
                with open(os.open(f"p{level}.txt", os.O_CREAT | os.O_WRONLY, dir_fd=folder), "w") as page:
                    page.write(PAGE)
                expected.append("a/" * level + f"p{level}")
            folder = deeper(folder, "a")
        os.close(folder)
        rows = pl.concat(batches_of(tmp_path / "d")).select("page_id", "status").rows()
        assert rows == [(page_id, None) for page_id in sorted(expected)]
    finally:
        flatten(dump, tmp_path / "levels")


def deeper(folder: int, name: str) -> int:
    """A new subfolder of the open folder, opened in its place (the folder is closed): a chain
    made level by level can pass PATH_MAX, which no path reaches."""
    os.mkdir(name, dir_fd=folder)
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
    finally:
        os.close(folder)


def flatten(folder, into):
    """Each level of folder's chain of "a" folders moved up into `into`, one beside the other:
    pytest removes its old temporary folders with a recursive rmtree, which a chain thousands
    of folders deep would stop with a RecursionError."""
    into.mkdir()
    level, chain = 0, folder / "a"
    while chain.is_dir():
        chain.rename(into / str(level))
        level, chain = level + 1, into / str(level) / "a"


def test_names_that_are_not_utf8_are_kept_escaped(tmp_path):
    root = os.fsencode(tmp_path / "d")
    os.makedirs(root + b"/dump-\xff")
    with open(root + b"/dump-\xff/caf\xe9.txt", "w") as out:
        out.write(PAGE)
    with tarfile.open(root + b"/t.tar.gz", "w:gz") as archive:
        data = PAGE.encode()
        member = tarfile.TarInfo("bad-\udcff.txt")  # how tarfile holds a name byte 0xff
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    (tmp_path / "d" / "j.jsonl").write_text(json.dumps({"id": "x\ud800", "text": PAGE}) + "\n")
    listing = discover_dumps(tmp_path / "d")
    assert [dump.dump_id for dump in listing.dumps] == ["dump-\\xff", "j", "t"]
    frames = {dump.dump_id: pl.concat(read_dump(dump, load_editions())) for dump in listing.dumps}
    assert frames["dump-\\xff"].select("page_id", "status").rows() == [("caf\\xe9", None)]
    assert frames["t"].select("page_id", "status").rows() == [("bad-\\xff", None)]
    assert frames["j"].select("page_id", "status").rows() == [("x\\ud800", None)]


def test_a_folder_that_can_be_listed_but_not_entered_gives_unreadable_pages(tmp_path):
    """Mode 0444: its names are listed, but no file in it can be opened or even stat'ed. The
    signature and the read go on; each such page is an unreadable row. (Root ignores modes, so
    the check runs without the capabilities that let it.)"""
    dump = tmp_path / "d" / "dump-2026-01-01"
    (dump / "closed").mkdir(parents=True)
    (dump / "open.txt").write_text(PAGE)
    (dump / "closed" / "shut.txt").write_text(PAGE)
    (dump / "closed").chmod(0o444)
    script = (
        "import sys; from pathlib import Path; import polars as pl\n"
        "from newsdesk.readers import discover_dumps, read_dump\n"
        "from newsdesk.transforms.editions import load_editions\n"
        "[dump] = discover_dumps(Path(sys.argv[1])).dumps\n"
        "print(dump.signature.split(':')[0])\n"
        "for row in pl.concat(read_dump(dump, load_editions())).select('page_id', 'status').rows(): print(*row)\n"
    )
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all"]
    command = [*(without_override if os.geteuid() == 0 else []), sys.executable, "-c", script, str(tmp_path / "d")]
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY)
    finally:
        (dump / "closed").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2", "closed/shut unreadable", "open None"]


def test_a_broken_record_never_fails_its_dump(tmp_path):
    """JSON nested past Python's recursion limit, and an encrypted zip member: each is one
    rejected row, and the records around them are read."""
    (tmp_path / "j").mkdir()
    lines = [json.dumps({"id": "before", "text": PAGE}), "[" * 200_000, json.dumps({"id": "after", "text": PAGE})]
    (tmp_path / "j" / "deep.jsonl").write_text("\n".join(lines) + "\n")
    rows = pl.concat(batches_of(tmp_path / "j")).select("page_id", "status", "detail").rows()
    assert rows == [("before", None, None), ("2", "bad_record", "invalid JSON: nested too deep"), ("after", None, None)]
    (tmp_path / "z").mkdir()
    with zipfile.ZipFile(tmp_path / "z" / "locked.zip", "w") as archive:
        archive.writestr("locked.txt", PAGE)
        archive.writestr("open.txt", PAGE)
    data = bytearray((tmp_path / "z" / "locked.zip").read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first member's central directory entry: flag it encrypted
    data[entry + 8] |= 0x01
    (tmp_path / "z" / "locked.zip").write_bytes(bytes(data))
    rows = pl.concat(batches_of(tmp_path / "z")).select("page_id", "status", "detail").rows()
    assert rows[0][:2] == ("locked", "unreadable") and "password required" in rows[0][2]
    assert rows[1] == ("open", None, None)


def test_runs_of_empty_lines_are_skipped_fast_and_keep_the_line_numbers(tmp_path):
    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "a.jsonl.gz", "wb") as out:
        out.write(b"\n\n\r\n" + json.dumps({"text": PAGE}).encode() + b"\n" * 6 + json.dumps({"text": PAGE}).encode())
    assert pl.concat(batches_of(tmp_path / "d"))["page_id"].to_list() == ["4", "10"]


def test_names_that_are_not_utf8_round_trip_even_in_a_zip_that_flags_them_utf8(tmp_path):
    """A zip may flag its member names as UTF-8 and hold other bytes: zipfile refuses the whole
    archive, yet only the name is odd. And the escape is lossless: a name with the byte 0x80
    and a name with the text "\\x80" stay two names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("AAAA.txt", PAGE)
        archive.writestr("ok.txt", PAGE)
    data = bytearray(buffer.getvalue().replace(b"AAAA", b"z-\xff\xfe"))
    for signature, flags in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):  # set "names are UTF-8" everywhere
        at = 0
        while (at := data.find(signature, at)) != -1:
            data[at + flags] |= 0x08
            at += 4
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "names.zip").write_bytes(bytes(data))
    rows = pl.concat(batches_of(tmp_path / "z")).select("page_id", "status").rows()
    assert rows == [("z-\\xff\\xfe", None), ("ok", None)]

    folder = os.fsencode(tmp_path / "f" / "d")
    os.makedirs(folder)
    for name in (b"page-\x80.txt", b"page-\\x80.txt"):
        with open(folder + b"/" + name, "w") as out:
            out.write(PAGE)
    rows = pl.concat(batches_of(tmp_path / "f")).select("page_id", "status").rows()
    assert sorted(rows) == [("page-\\\\x80", None), ("page-\\x80", None)]  # the text, then the byte


def test_parquet_string_columns_that_are_not_utf8(tmp_path):
    """Arrow does not check the bytes a writer put in a Parquet string column: a text of other
    bytes is decoded like a file's bytes, an id keeps its value with the odd bytes escaped, and
    the dump's other rows are read as usual."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def unchecked(values: list[bytes]):
        offsets = np.cumsum([0, *map(len, values)]).astype(np.int32)
        return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(values))])

    page = PAGE.encode()
    (tmp_path / "d").mkdir()
    pq.write_table(
        pa.table({"id": unchecked([b"ok", b"id-\xff"]), "text": unchecked([page, page.replace(b"Le Matin", b"Le Matin \xe9")])}),
        tmp_path / "d" / "odd.parquet",
    )
    rows = pl.concat(batches_of(tmp_path / "d")).select("page_id", "status").rows()
    # The second text mixes UTF-8 with a stray byte: rejected with its reason, as such a file is.
    assert rows == [("ok", None), ("id-\\xff", "encoding")]


def in_page_cache(path) -> bool:
    with open(path, "rb") as file:
        return readers._in_page_cache(file.fileno())


def files_out_of_the_page_cache(folder, count: int) -> list[str]:
    paths = [str(folder / f"{index:05}.txt") for index in range(count)]
    for path in paths:
        with open(path, "w", encoding="utf-8") as file:
            file.write(PAGE)
    out_of_page_cache(folder)
    assert not any(in_page_cache(path) for path in paths)
    return paths


@pytest.mark.parametrize(
    "probes_missing", [(0, 1), (1,), ()], ids=["two probes in a row miss", "one probe misses", "every probe hits"]
)
def test_a_folder_dump_is_read_ahead_once_two_probed_files_in_a_row_are_out_of_the_page_cache(tmp_path, probes_missing):
    """Every _PREFETCH_WINDOW-th file is probed as the reader opens it: after two probes in a row
    that find their file out of the page cache, the next files are queued for reading (up to
    _PREFETCH_AHEAD ahead); a lone miss (the kernel drops a few files of a cached dump) or none
    adds no reads."""
    window, ahead = readers._PREFETCH_WINDOW, readers._PREFETCH_AHEAD
    paths = files_out_of_the_page_cache(tmp_path, window + ahead + 200)
    for probe, index in enumerate((0, window)):
        if probe not in probes_missing:
            with open(paths[index], "rb") as file:
                file.read()
    read_ahead = len(probes_missing) == 2
    with readers._Prefetcher([*paths[:-1], None]) as prefetcher:
        for index in range(window + 1):  # opening a file reads none of it
            descriptor = os.open(paths[index], os.O_RDONLY)
            try:
                prefetcher.opened(index, descriptor)
            finally:
                os.close(descriptor)
        queued = paths[window + 1 : window + 1 + ahead]
        # The kernel reads them in the background, slower while other tests use the disk.
        for _ in range(1200):
            if not read_ahead or all(map(in_page_cache, queued)):
                break
            time.sleep(0.05)
        assert bool(prefetcher.threads) is read_ahead
    assert all(map(in_page_cache, queued)) is read_ahead
    assert not any(map(in_page_cache, paths[window + 1 + ahead :]))
