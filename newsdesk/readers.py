"""Find the dumps in a folder and stream their pages as bounded batches of records.

Reading is I/O at the edge of the pipeline; everything after it is polars. A broken record
becomes a record with a rejection status, never an exception that loses the dump's good pages.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path, PurePosixPath

import polars as pl

from newsdesk.transforms.decode import decode_pages
from newsdesk.transforms.editions import Edition

# Longest suffix first, so "x.jsonl.gz" is not taken for a ".gz" of something else.
DUMP_FORMATS = (".jsonl.zst", ".jsonl.gz", ".tar.gz", ".jsonl", ".parquet", ".zip")
DEFAULT_MAX_PAGE_BYTES = 20 * 1024 * 1024
# Pages per frame: what bounds a dump's memory, whatever its size.
DEFAULT_BATCH_SIZE = 5000
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})|(\d{8})")
# Dagster refuses these in partition keys.
_FORBIDDEN_IN_DUMP_ID = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")

RECORD_SCHEMA = {
    "page_id": pl.String,
    "crawl_date": pl.Date,
    "url": pl.String,
    "text": pl.String,
    "encoding": pl.String,
    "size_bytes": pl.Int64,
    "status": pl.String,
    "detail": pl.String,
}


@dataclass(frozen=True)
class Dump:
    """One entry of the dumps folder; each dump is one partition."""

    dump_id: str
    path: Path
    format: str  # "folder" or one of DUMP_FORMATS without the leading dot

    @property
    def crawl_date_from_name(self) -> date | None:
        """The first YYYY-MM-DD or YYYYMMDD in the dump_id that is a real date."""
        for match in _DATE_IN_NAME.finditer(self.dump_id):
            text = match.group(0).replace("-", "")
            try:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                continue
        return None


    @property
    def signature(self) -> str:
        """Changes whenever the dump's content does: size and modification time of the
        file, or of every file in the folder."""
        count, size, newest = self._stat
        return f"{size}:{newest}" if self.format != "folder" else f"{count}:{size}:{newest}"

    @property
    def size_bytes(self) -> int:
        return self._stat[1]

    @cached_property
    def _stat(self) -> tuple[int, int, int]:
        """(files, bytes, newest modification time in ns), taken once: a Dump describes its
        entry as it was when first asked (a folder dump costs a stat of every file); list the
        dumps again to see later changes."""
        if self.format != "folder":
            stat = self.path.stat()
            return 1, stat.st_size, stat.st_mtime_ns
        count = size = newest = 0
        for _, entry in _files(str(self.path)):
            stat = entry.stat(follow_symlinks=False)
            count, size, newest = count + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
        return count, size, newest

    @property
    def is_marked_complete(self) -> bool:
        """A folder dump whose writer left a _SUCCESS marker is complete, whatever its mtimes."""
        return self.format == "folder" and (self.path / "_SUCCESS").exists()


@dataclass(frozen=True)
class DumpListing:
    dumps: list[Dump]
    skipped: list[tuple[str, str]]  # (entry name, why it is not a dump)


def discover_dumps(root: Path) -> DumpListing:
    """Every dump entry directly under root, sorted by dump_id; other entries are reported."""
    if not root.is_dir():
        raise FileNotFoundError(f"dumps folder not found: {root}")
    dumps: dict[str, Dump] = {}
    skipped: list[tuple[str, str]] = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith((".", "_")):
            continue  # hidden files, partial copies and markers such as _SUCCESS
        dump = _as_dump(entry)
        if dump is None:
            skipped.append((name, "not a dump: expected a folder, .jsonl[.gz|.zst], .parquet, .zip or .tar.gz"))
        elif any(bad in dump.dump_id for bad in _FORBIDDEN_IN_DUMP_ID) or not dump.dump_id.strip():
            skipped.append((name, "dump_id has control characters or '...', which partition keys cannot hold"))
        elif dump.dump_id in dumps:
            skipped.append((name, f"dump_id {dump.dump_id!r} is already taken by {dumps[dump.dump_id].path.name}"))
        else:
            dumps[dump.dump_id] = dump
    return DumpListing(sorted(dumps.values(), key=lambda d: d.dump_id), skipped)


def _as_dump(entry: Path) -> Dump | None:
    if entry.is_dir():
        return Dump(entry.name, entry, "folder")
    if not entry.is_file():
        return None
    lowered = entry.name.lower()
    for suffix in DUMP_FORMATS:
        if lowered.endswith(suffix) and len(entry.name) > len(suffix):
            return Dump(entry.name[: -len(suffix)], entry, suffix[1:])
    return None


def read_dump(
    dump: Dump,
    editions: tuple[Edition, ...],
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
) -> Iterator[pl.DataFrame]:
    """The dump's pages as frames of RECORD_SCHEMA, at most batch_size rows each, in dump order."""
    if dump.format == "parquet":
        batches = _parquet_batches(dump.path, batch_size)
    else:
        records = {
            "folder": _folder_records,
            "jsonl": _jsonl_records,
            "jsonl.gz": _jsonl_records,
            "jsonl.zst": _jsonl_records,
            "zip": _zip_records,
            "tar.gz": _tar_records,
        }[dump.format](dump.path, max_page_bytes)
        batches = _record_batches(records, editions, batch_size)
    for batch in batches:
        yield _with_crawl_dates(batch, dump.crawl_date_from_name)


# --- records -------------------------------------------------------------------------------
# A record is a dict with page_id, crawl_date (raw), url, and either text (already decoded),
# raw (bytes to decode) or a status (a rejection) with its detail.


def _record_batches(records: Iterator[dict], editions: tuple[Edition, ...], batch_size: int) -> Iterator[pl.DataFrame]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            yield _frame(batch, editions)
            batch = []
    if batch:
        yield _frame(batch, editions)


def _frame(records: list[dict], editions: tuple[Edition, ...]) -> pl.DataFrame:
    """The records as a frame; their raw bytes decoded together (decode_pages), so that a
    page's text never becomes a Python string on the way."""
    schema = {**RECORD_SCHEMA, "crawl_date": pl.String}
    frame = pl.DataFrame({name: [record.get(name) for record in records] for name in schema}, schema=schema)
    raw_rows = [row for row, record in enumerate(records) if record.get("raw") is not None]
    if not raw_rows:
        return frame
    decoded = decode_pages([records[row]["raw"] for row in raw_rows], editions).get_columns()
    if len(raw_rows) == len(records):
        return frame.with_columns(decoded)
    # Some records were rejected before any bytes were read: decoded rows go back in place.
    rows = pl.Series("row", raw_rows, dtype=pl.UInt32)
    indexed = frame.with_row_index("row")
    rejected = indexed.filter(~pl.col("row").is_in(rows.implode()))
    read = indexed[raw_rows].with_columns(decoded)
    return pl.concat([rejected, read]).sort("row").drop("row")


def _page(page_id: str, raw: bytes | None = None, **fields) -> dict:
    size = len(raw) if raw is not None else fields.pop("size_bytes", None)
    return {"page_id": page_id, "raw": raw, "size_bytes": size, **fields}


def _too_large(page_id: str, size: int, limit: int, **fields) -> dict:
    return _page(
        page_id, size_bytes=size, status="too_large", detail=f"{size} bytes, over the {limit}-byte page limit", **fields
    )


def _folder_records(root: Path, limit: int) -> Iterator[dict]:
    # Plain strings and os calls, not pathlib: per-file overhead is the cost of this reader.
    base = str(root)
    real_root = os.path.realpath(base) + os.sep
    files = sorted(
        (path[len(base) + 1 :].replace(os.sep, "/"), path, is_link, is_regular)
        for path, is_link, is_regular in _txt_files(base)
    )
    for relative, path, is_link, is_regular in files:
        page_id = relative[: -len(".txt")]
        if is_link and not os.path.realpath(path).startswith(real_root):
            yield _page(page_id, status="unsafe_link", detail="symlink pointing outside the dump")
            continue
        if is_link and not os.path.exists(path):
            yield _page(page_id, status="unreadable", detail="symlink to nothing")
            continue
        if not is_regular:  # a FIFO would block the read forever, a device never end it
            yield _page(page_id, status="unsafe_member", detail="not a regular file (a FIFO, device or socket): not read")
            continue
        try:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                size = os.fstat(descriptor).st_size
                if size > limit:
                    yield _too_large(page_id, size, limit)
                    continue
                raw = _read_to_end(descriptor, size)
            finally:
                os.close(descriptor)
        except OSError as error:
            yield _page(page_id, status="unreadable", detail=f"{type(error).__name__}: {error.strerror or error}")
            continue
        yield {"page_id": page_id, "raw": raw, "size_bytes": len(raw)}


def _txt_files(base: str) -> Iterator[tuple[str, bool, bool]]:
    """(path, is a symlink, is a regular file or a link to one) of every .txt entry under base
    that is not a folder. Known without a system call, but for symlinks."""
    for folder, entry in _files(base):
        if entry.name.lower().endswith(".txt"):
            try:
                is_regular = entry.is_file()
            except OSError:
                is_regular = False
            yield os.path.join(folder, entry.name), entry.is_symlink(), is_regular


def _files(base: str) -> Iterator[tuple[str, os.DirEntry]]:
    """(folder, directory entry) of every file under base as os.walk finds them (symlinked
    folders are not entered). Whether an entry is a folder or a symlink costs no system call,
    and its stat is taken relative to its open folder, without a lookup of the whole path."""
    folders = [base]
    while folders:
        folder = folders.pop()
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            try:
                with os.scandir(descriptor) as listing:
                    entries = list(listing)
            except OSError:
                continue
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    yield folder, entry
                elif not entry.is_symlink():
                    folders.append(os.path.join(folder, entry.name))
        finally:
            os.close(descriptor)  # the entries' stat needs it open until then


def _read_to_end(descriptor: int, size: int) -> bytes:
    # A regular file returns fewer bytes than asked only at its end; a file that grew since
    # fstat is read on to its new end, as file.read() would.
    raw = os.read(descriptor, size + 1)
    if len(raw) <= size:
        return raw
    chunks = [raw]
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _open_jsonl(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.lower().endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(path.open("rb"), closefd=True))
    return path.open("rb")


def _bounded_lines(stream: io.BufferedIOBase, limit: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, size) per line; line is None when it is longer than limit (its bytes are skipped)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line, len(line)
            continue
        size = len(line)
        while line and not line.endswith(b"\n"):
            line = stream.readline(1 << 20)
            size += len(line)
        yield None, size


def _jsonl_records(path: Path, limit: int) -> Iterator[dict]:
    with _open_jsonl(path) as stream:
        try:
            for line_no, (line, size) in enumerate(_bounded_lines(stream, limit), start=1):
                if line is None:
                    yield _too_large(str(line_no), size, limit)
                elif line.strip():
                    yield _json_record(line, line_no)
        except (OSError, EOFError, ValueError) as error:
            # A truncated or corrupt compressed stream: keep what was read, record where it broke.
            yield _page(f"{path.name}#truncated", status="bad_record", detail=f"stream ends early: {error}")


def _json_record(line: bytes, line_no: int) -> dict:
    page_id = str(line_no)
    try:
        record = json.loads(line)
    except ValueError as error:
        return _page(page_id, status="bad_record", detail=f"invalid JSON: {error}", size_bytes=len(line))
    if not isinstance(record, dict):
        return _page(page_id, status="bad_record", detail="JSON line is not an object", size_bytes=len(line))
    if record.get("id") is not None:
        page_id = str(record["id"])
    fields = {
        "url": _optional_str(record.get("url")),
        "crawl_date": _optional_str(record.get("crawl_date") or record.get("date")),
        "size_bytes": len(line),
    }
    text = record.get("text")
    if "text" not in record:
        return _page(page_id, status="bad_record", detail="record has no text field", **fields)
    if text is None:
        return _page(page_id, status="bad_record", detail="text is null", **fields)
    if not isinstance(text, str):
        return _page(page_id, status="bad_record", detail=f"text is a {type(text).__name__}", **fields)
    return _page(page_id, text=text, encoding="json", **fields)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _member_page_id(name: str) -> str:
    parts = [part for part in PurePosixPath(name.replace("\\", "/")).parts if part not in ("/", ".")]
    return "/".join(parts)[: -len(".txt")]


def _zip_records(path: Path, limit: int) -> Iterator[dict]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".txt"):
                continue
            page_id = _member_page_id(info.filename)
            if info.file_size > limit:
                yield _too_large(page_id, info.file_size, limit)
                continue
            try:
                with archive.open(info) as member:
                    raw = member.read(limit + 1)  # the declared size may lie (zip bombs)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
                yield _page(page_id, status="unreadable", detail=f"broken archive member: {error}")
                continue
            yield _too_large(page_id, len(raw), limit) if len(raw) > limit else _page(page_id, raw)


def _tar_records(path: Path, limit: int) -> Iterator[dict]:
    with tarfile.open(path, "r:gz") as archive:
        try:
            for member in archive:
                if not member.name.lower().endswith(".txt") or member.isdir():
                    continue
                page_id = _member_page_id(member.name)
                if not member.isfile():
                    yield _page(page_id, status="unsafe_member", detail="link or device in the archive, not read")
                elif member.size > limit:
                    yield _too_large(page_id, member.size, limit)
                else:
                    yield _page(page_id, archive.extractfile(member).read())
        except (tarfile.TarError, OSError, EOFError) as error:
            yield _page(f"{path.name}#truncated", status="bad_record", detail=f"archive ends early: {error}")


def _parquet_batches(path: Path, batch_size: int) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    present = set(parquet.schema_arrow.names)
    columns = [name for name in ("id", "url", "text", "crawl_date", "date") if name in present]
    first_row = 1
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        frame = pl.from_arrow(batch)
        row_numbers = pl.int_range(first_row, first_row + frame.height).cast(pl.String)
        first_row += frame.height
        text = pl.col("text").cast(pl.String) if "text" in present else pl.lit(None, pl.String)
        crawl = [pl.col(name).cast(pl.String) for name in ("crawl_date", "date") if name in present]
        yield frame.select(
            page_id=pl.col("id").cast(pl.String).fill_null(row_numbers) if "id" in present else row_numbers,
            crawl_date=pl.coalesce(crawl) if crawl else pl.lit(None, pl.String),
            url=pl.col("url").cast(pl.String) if "url" in present else pl.lit(None, pl.String),
            text=text,
            encoding=pl.lit("parquet"),
            size_bytes=text.str.len_bytes().cast(pl.Int64),
            status=pl.when(text.is_null()).then(pl.lit("bad_record")),
            detail=pl.when(text.is_null()).then(pl.lit("text is null" if "text" in present else "no text column")),
        )


def _with_crawl_dates(batch: pl.DataFrame, from_name: date | None) -> pl.DataFrame:
    """crawl_date: the record's own date or datetime, else the date in the dump's name."""
    raw = pl.col("crawl_date").str.strip_chars()
    return batch.with_columns(
        crawl_date=pl.coalesce(
            raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
            raw.str.slice(0, 8).str.to_date("%Y%m%d", strict=False),
            pl.lit(from_name, pl.Date),
        )
    ).select([pl.col(name).cast(dtype) for name, dtype in RECORD_SCHEMA.items()])
