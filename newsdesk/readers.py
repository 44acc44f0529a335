"""Find the dumps in a folder and stream their pages as bounded batches of records.

Reading is I/O at the edge of the pipeline; everything after it is polars. A broken record
becomes a record with a rejection status, never an exception that loses the dump's good pages.
"""

from __future__ import annotations

import ctypes
import io
import itertools
import json
import math
import mmap
import os
import re
import struct
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path, PurePosixPath

import numpy as np
import orjson
import polars as pl

from newsdesk.transforms.decode import decode_pages
from newsdesk.transforms.editions import Edition

# Longest suffix first, so "x.jsonl.gz" is not taken for a ".gz" of something else.
DUMP_FORMATS = (".warc.wet.gz", ".jsonl.zst", ".jsonl.gz", ".warc.wet", ".tar.gz", ".jsonl", ".parquet", ".zip")
# A page of the site is tens of KB; a text of megabytes is not one page.
DEFAULT_MAX_PAGE_BYTES = 4 * 1024 * 1024
MOST_MAX_PAGE_BYTES = 1024**3  # a page limit past 1 GiB would let one page outgrow any worker
# A dump stops growing past these, with a row that says so: compressed garbage (a few KB that
# expand to millions of lines) costs seconds, not minutes.
DEFAULT_MAX_DUMP_RECORDS = 20_000_000
DEFAULT_MAX_DUMP_BYTES = 256 * 1024**3
# Page text compresses 3 to 10 times; a dump that expands a hundred times is not pages.
DEFAULT_MAX_EXPANSION = 100.0
# The expansion is only judged past this many bytes: a tiny file's ratio says nothing.
_EXPANSION_JUDGED_FROM = 1024 * 1024
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
class ReadLimits:
    """What reading one dump may cost, whatever its content.

    A batch holds at most batch_pages pages and batch_bytes bytes of page text, or one page
    larger than that, which bounds a reader's memory. A page over max_page_bytes is recorded as
    `too_large` without being read. A dump that passes max_dump_records records, max_dump_bytes
    expanded bytes, or (a compressed one) max_expansion times its size on disk stops there,
    with a `too_large` row that says which limit it passed; the pages before it are kept."""

    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    batch_pages: int = 5000
    # Parsing holds many times a batch's text at its peak: 12 MiB keeps a worker that parses two
    # batches at once near 500 MB on pages at the page limit (benchmarks/bench_bombs.py).
    batch_bytes: int = 12 * 1024 * 1024
    max_dump_records: int = DEFAULT_MAX_DUMP_RECORDS
    max_dump_bytes: int = DEFAULT_MAX_DUMP_BYTES
    max_expansion: float = DEFAULT_MAX_EXPANSION

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"{name} is {value}: it must be a positive number")
        if self.max_page_bytes > MOST_MAX_PAGE_BYTES:
            raise ValueError(f"max_page_bytes is {self.max_page_bytes:,}: it must be at most {MOST_MAX_PAGE_BYTES:,} (1 GiB)")

    def batch_is_full(self, pages: int, text_bytes: int, size: int) -> bool:
        """Whether a batch of `pages` pages holding `text_bytes` of text is yielded before a page
        of `size` bytes of text joins it."""
        return pages > 0 and (pages == self.batch_pages or text_bytes + size > self.batch_bytes)


class DumpStopped(Exception):
    """A dump passed one of its ReadLimits; the message says which."""


class _DumpBudget:
    """What a dump has cost so far; spend() raises DumpStopped past its limits."""

    def __init__(self, limits: ReadLimits, bytes_on_disk: int | None) -> None:
        """bytes_on_disk: None for a dump that does not expand (no expansion limit)."""
        self.limits = limits
        self.most_expanded = (
            math.inf if bytes_on_disk is None else max(_EXPANSION_JUDGED_FROM, limits.max_expansion * bytes_on_disk)
        )
        self.records = self.expanded = 0

    def look_ahead(self, expanded: int) -> None:
        """Raise DumpStopped if reading this many more bytes would pass the byte limits: for
        what must be decoded whole before it can be counted (a Parquet row group's dictionary)."""
        if self.expanded + expanded > self.limits.max_dump_bytes or self.expanded + expanded > self.most_expanded:
            raise DumpStopped(
                f"its next part declares {expanded:,} bytes of page data, past max_dump_bytes or "
                f"{self.limits.max_expansion:g} times the dump's size on disk (max_expansion): not read"
            )

    def allows(self, expanded: int, records: int) -> bool:
        """Whether spending this much stays within the limits (spend would not raise)."""
        limits = self.limits
        return (
            self.records + records <= limits.max_dump_records
            and self.expanded + expanded <= min(limits.max_dump_bytes, self.most_expanded)
        )

    def spend(self, expanded: int, records: int = 0) -> None:
        self.expanded += expanded
        self.records += records
        limits = self.limits
        if self.records > limits.max_dump_records:
            raise DumpStopped(f"the dump passed {limits.max_dump_records:,} records (max_dump_records)")
        if self.expanded > limits.max_dump_bytes:
            raise DumpStopped(f"the dump passed {limits.max_dump_bytes:,} bytes of page data (max_dump_bytes)")
        if self.expanded > self.most_expanded:
            raise DumpStopped(
                f"the dump expanded to over {limits.max_expansion:g} times its size on disk "
                "(max_expansion): compressed garbage, not pages"
            )


@dataclass
class DumpFiles:
    """What a dump's signature is made of: its files, their bytes and the newest modification
    time (ns). `complete` once every file is counted."""

    count: int = 0
    bytes: int = 0
    newest: int = 0
    complete: bool = False

    def add(self, stat: os.stat_result | None) -> None:
        """One more file, with its stat (None: a file listed whose stat failed)."""
        self.count += 1
        if stat is not None:
            self.bytes += stat.st_size
            self.newest = max(self.newest, stat.st_mtime_ns)

    def add_whole_file(self, path: Path) -> None:
        """The one file a dump of any other format than a folder is."""
        self.add(path.stat())
        self.complete = True

    def add_entry(self, entry: os.DirEntry) -> None:
        """A file of a folder's listing: a symlink as itself, not what it points to."""
        try:
            self.add(entry.stat(follow_symlinks=False))
        except OSError:  # listed but not searchable: reading records the page as unreadable
            self.add(None)

    def add_as_listed(self, path: str) -> None:
        """A file of a listing, from its path, as add_entry counts it."""
        try:
            self.add(os.lstat(path))
        except OSError:
            self.add(None)

    def signature(self, format: str) -> str:
        """Changes whenever the dump's content does: size and modification time of the file, or
        of every file in the folder."""
        return f"{self.count}:{self.bytes}:{self.newest}" if format == "folder" else f"{self.bytes}:{self.newest}"


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
        """Changes whenever the dump's content does (DumpFiles.signature)."""
        return self._stat.signature(self.format)

    @property
    def size_bytes(self) -> int:
        return self._stat.bytes

    @property
    def expected_pages(self) -> int | None:
        """How many pages the dump holds, where that is cheap to know before reading it: the
        page files of a folder, the rows of a Parquet file, the members of a zip (from their
        footers); None for streams (JSONL, tar), or a file that will not open.

        A folder's page files are the entries _txt_files gives as such, counted from the
        listing alone: no stat of each, and no path built for each (half the CPU of a
        166,667-file listing, taken beside the parse runs)."""
        try:
            if self.format == "folder":
                return sum(
                    1
                    for _, entry in _files(str(self.path))
                    if not isinstance(entry, OSError)
                    and entry.name.lower().endswith(".txt")
                    and not (entry.is_symlink() and _is_folder(entry))
                )
            if self.format == "parquet":
                import pyarrow.parquet as pq

                return pq.read_metadata(self.path).num_rows
            if self.format == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    return sum(not info.is_dir() and info.filename.lower().endswith(".txt") for info in archive.infolist())
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # reading it records what is wrong
        return None

    @cached_property
    def _stat(self) -> DumpFiles:
        """The dump's files, taken once: a Dump describes its entry as it was when first asked
        (a folder dump costs a stat of every file; reading it counts them as it goes, read_dump);
        list the dumps again to see later changes."""
        files = DumpFiles()
        if self.format != "folder":
            files.add_whole_file(self.path)
            return files
        for _, entry in _files(str(self.path)):
            if not isinstance(entry, OSError):  # reading the dump records a folder it cannot list
                files.add_entry(entry)
        files.complete = True
        return files

    @property
    def is_marked_complete(self) -> bool:
        """A folder dump whose writer left a _SUCCESS marker is complete, whatever its mtimes."""
        return self.format == "folder" and (self.path / "_SUCCESS").exists()


@dataclass(frozen=True)
class DumpListing:
    dumps: list[Dump]
    skipped: list[tuple[str, str]]  # (entry name, why it is not a dump)


def discover_dumps(root: Path) -> DumpListing:
    """Every dump entry directly under root, sorted by dump_id; the other entries, and why
    they are not dumps."""
    if not root.is_dir():
        raise FileNotFoundError(f"dumps folder not found: {root}")
    real_root = os.path.realpath(root) + os.sep
    dumps: dict[str, Dump] = {}
    skipped: list[tuple[str, str]] = []
    for entry in sorted(root.iterdir()):
        name = text_of_name(entry.name)
        if entry.name.startswith((".", "_")):
            skipped.append((name, "names starting with '.' or '_' are hidden files, partial copies or markers"))
            continue
        if entry.is_symlink() and not os.path.realpath(entry).startswith(real_root):
            skipped.append((name, "a symlink pointing outside the dumps folder is not followed"))
            continue
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


def text_of_name(name: str) -> str:
    """A name as storable text. Bytes of a file name that are not UTF-8 (which Python holds as
    lone surrogates) become \\xNN, other lone surrogates \\uDXXX: the name is kept, readable,
    and no page is lost for its name. The escape round-trips: in an escaped name, and in a
    valid one that holds text looking like such an escape, every backslash is doubled, so no
    two names give the same text."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        doubled = name.replace("\\", "\\\\")
        try:
            return doubled.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return doubled.encode("utf-8", "backslashreplace").decode("utf-8")
    return name.replace("\\", "\\\\") if _LOOKS_ESCAPED.search(name) else name


_LOOKS_ESCAPED = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")


def _as_dump(entry: Path) -> Dump | None:
    name = text_of_name(entry.name)
    if entry.is_dir():
        return Dump(name, entry, "folder")
    if not entry.is_file():
        return None
    lowered = name.lower()
    for suffix in DUMP_FORMATS:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return Dump(name[: -len(suffix)], entry, suffix[1:])
    return None


def read_dump(
    dump: Dump, editions: tuple[Edition, ...], limits: ReadLimits = ReadLimits(), files: DumpFiles | None = None
) -> Iterator[pl.DataFrame]:
    """The dump's pages as frames of RECORD_SCHEMA, in dump order, each within the limits'
    batch_pages and batch_bytes.

    `files`, if given, gets the dump's files as read, for its signature: a folder's are counted
    from the stat that reading each file takes, instead of a stat of every file before, and are
    complete once the read reaches the folder's end; a file's stat is taken before reading it."""
    files = DumpFiles() if files is None else files
    if dump.format == "folder":
        # A folder's pages are its files, which expand to nothing more: max_expansion is for
        # compressed dumps.
        budget = _DumpBudget(limits, None)
        batches = _record_batches(_folder_records(dump.path, limits.max_page_bytes, budget, files), editions, limits, budget, dump)
    else:
        files.add_whole_file(dump.path)
        budget = _DumpBudget(limits, files.bytes)
        if dump.format == "parquet":
            batches = _parquet_batches(dump.path, editions, limits, budget)
        elif dump.format in ("jsonl", "jsonl.gz", "jsonl.zst"):
            batches = _jsonl_batches(dump.path, limits, budget)
        else:
            records = {
                "zip": _zip_records,
                "tar.gz": _tar_records,
                "warc.wet": _wet_records,
                "warc.wet.gz": _wet_records,
            }[dump.format](dump.path, limits.max_page_bytes, budget)
            batches = _record_batches(records, editions, limits, budget, dump)
    for batch in batches:
        yield _with_crawl_dates(batch, dump.crawl_date_from_name)


# --- records -------------------------------------------------------------------------------
# A record is a dict with page_id, crawl_date (raw), url, and either text (already decoded),
# raw (bytes to decode) or a status (a rejection) with its detail. Readers spend the bytes they
# expand from the budget; _record_batches counts the records.


def _record_batches(
    records: Iterator[dict], editions: tuple[Edition, ...], limits: ReadLimits, budget: _DumpBudget, dump: Dump
) -> Iterator[pl.DataFrame]:
    batch: list[dict] = []
    batch_bytes = 0
    try:
        for record in records:
            budget.spend(0, records=1)
            size = record["size_bytes"] if record.get("status") is None else 0  # a rejection holds no text
            if limits.batch_is_full(len(batch), batch_bytes, size):
                yield _frame(batch, editions)
                batch, batch_bytes = [], 0
            batch.append(record)
            batch_bytes += size
    except DumpStopped as stop:
        batch.append(_stopped(dump.path, stop))
    if batch:
        yield _frame(batch, editions)


def _stopped(path: Path, stop: DumpStopped) -> dict:
    return _page(f"{text_of_name(path.name)}#stopped", status="too_large", detail=f"{stop}: the rest of it is not read")


def _frame(records: list[dict], editions: tuple[Edition, ...]) -> pl.DataFrame:
    """The records as a frame; their raw bytes decoded together (decode_pages), so that a
    page's text never becomes a Python string on the way."""
    frame = _records_frame(records)
    raw_rows = [row for row, record in enumerate(records) if record.get("raw") is not None]
    return _with_decoded(frame, raw_rows, [records[row]["raw"] for row in raw_rows], editions)


def _records_frame(records: list[dict]) -> pl.DataFrame:
    """The records' RECORD_SCHEMA fields, crawl_date as text, as they are."""
    schema = {**RECORD_SCHEMA, "crawl_date": pl.String}
    return pl.DataFrame({name: [record.get(name) for record in records] for name in schema}, schema=schema)


def _with_decoded(frame: pl.DataFrame, raw_rows: list[int], raw: list[bytes], editions) -> pl.DataFrame:
    """The frame with the given rows' text, encoding, status and detail decoded from raw."""
    return _with_rows(frame, raw_rows, decode_pages(raw, editions).get_columns()) if raw_rows else frame


def _with_rows(frame: pl.DataFrame, rows: list[int], columns: list[pl.Series]) -> pl.DataFrame:
    """The frame with these columns' values in the given rows (in order)."""
    if len(rows) == frame.height:
        return frame.with_columns(columns)
    # The other rows (rejected before any bytes were read, say) keep their values, in place.
    row_numbers = pl.Series("row", rows, dtype=pl.UInt32)
    indexed = frame.with_row_index("row")
    rejected = indexed.filter(~pl.col("row").is_in(row_numbers.implode()))
    read = indexed[rows].with_columns(columns)
    return pl.concat([rejected, read]).sort("row").drop("row")


def _page(page_id: str, raw: bytes | None = None, **fields) -> dict:
    size = len(raw) if raw is not None else fields.pop("size_bytes", None)
    return {"page_id": page_id, "raw": raw, "size_bytes": size, **fields}


def _too_large(page_id: str, size: int, limit: int, **fields) -> dict:
    return _page(
        page_id, size_bytes=size, status="too_large", detail=f"{size} bytes, over the {limit}-byte page limit", **fields
    )


def _folder_records(root: Path, limit: int, budget: _DumpBudget, files: DumpFiles) -> Iterator[dict]:
    # Plain strings and os calls, not pathlib: per-file overhead is the cost of this reader.
    base = str(root)
    real_root = os.path.realpath(base) + os.sep
    found = sorted(
        ((path[len(base) + 1 :].replace(os.sep, "/"), path, kind) for path, kind in _txt_files(base, files)),
        key=lambda item: item[0],
    )
    with _Prefetcher([path if kind == (False, True) else None for _, path, kind in found]) as prefetcher:
        yield from _folder_entries(found, real_root, limit, budget, prefetcher, files)
    files.complete = True


def _folder_entries(
    found: list[tuple[str, str, tuple[bool, bool] | OSError | str]], real_root: str, limit: int, budget: _DumpBudget,
    prefetcher: _Prefetcher, files: DumpFiles,
) -> Iterator[dict]:
    """The records of the listed files, read; each file counted in `files` (Dump._stat's count)."""
    for index, (relative, path, kind) in enumerate(found):
        if isinstance(kind, OSError):  # a folder that cannot be listed: its pages are unknown
            yield _page(
                f"{text_of_name(relative) or '.'}/",
                status="unreadable",
                detail=f"folder not readable ({kind.strerror or kind}): the pages in it are not read",
            )
            continue
        if kind == _LINKED_FOLDER:  # followed, it could reach outside the dump, or loop
            files.add_as_listed(path)
            yield _page(
                f"{text_of_name(relative)}/", status="unsafe_link", detail="symlinked folder, not followed: its pages are not read"
            )
            continue
        page_id = text_of_name(relative[: -len(".txt")])
        is_link, is_regular = kind
        if is_link or not is_regular:  # counted as itself, not as what it points to or holds
            files.add_as_listed(path)
        if is_link and not os.path.realpath(path).startswith(real_root):
            yield _page(page_id, status="unsafe_link", detail="symlink pointing outside the dump")
            continue
        if is_link and not os.path.exists(path):
            yield _page(page_id, status="unreadable", detail="symlink to nothing")
            continue
        if not is_regular:  # a FIFO would block the read forever, a device never end it
            yield _page(page_id, status="unsafe_member", detail="not a regular file (a FIFO, device or socket): not read")
            continue
        counted = is_link
        try:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                stat = os.fstat(descriptor)  # the regular file's own: what a stat of the listing gives
                if not counted:
                    files.add(stat)
                    counted = True
                size = stat.st_size
                if size > limit:
                    yield _too_large(page_id, size, limit)
                    continue
                prefetcher.opened(index, descriptor)
                raw = _read_to_end(descriptor, size)
            finally:
                os.close(descriptor)
        except OSError as error:
            if not counted:
                files.add_as_listed(path)
            yield _page(page_id, status="unreadable", detail=f"{type(error).__name__}: {error.strerror or error}")
            continue
        budget.spend(len(raw))
        yield {"page_id": page_id, "raw": raw, "size_bytes": len(raw)}


class _Prefetcher:
    """Asks the kernel to read a folder dump's next files into the page cache (posix_fadvise
    WILLNEED, from two threads, at most _PREFETCH_AHEAD files ahead) once its files are found
    not to be there. Reading one file at a time waits for the disk at every file; with the
    next files already queued, a folder dump that is not in the page cache reads about twice as
    fast (docs/scaling.md). Every _PREFETCH_WINDOW-th file is probed before it is read (is its
    first page in the page cache? _in_page_cache), and two probes in a row that find it out of
    the cache start the read-ahead: the kernel drops a few files of a cached dump, and one miss
    could be one of them. A probe, not the time a read takes: while the parse threads hold the
    interpreter, a read from the cache can wait as long as one from the disk, and the threads
    reading ahead files that are in the cache cost the reader half its CPU time."""

    def __init__(self, paths: list[str | None]) -> None:
        self.paths = paths  # None: not a regular file, not to be opened ahead
        self.target = 0  # prefetch the files before this index
        self.misses = 0  # probes in a row that found their file out of the page cache
        self.condition = threading.Condition()
        self.stopped = False
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> _Prefetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        with self.condition:
            self.stopped = True
            self.condition.notify_all()
        for thread in self.threads:
            thread.join()

    def opened(self, index: int, descriptor: int) -> None:
        """The file at index is open, about to be read."""
        if index % _PREFETCH_WINDOW:
            return
        if not self.threads:
            self.misses = 0 if _in_page_cache(descriptor) else self.misses + 1
            if self.misses < _PREFETCH_AFTER_MISSES:
                return
            self.threads = [
                threading.Thread(target=self._prefetch, args=(first,), name="prefetch", daemon=True)
                for first in range(index + 1, index + 1 + _PREFETCHERS)
            ]
            for thread in self.threads:
                thread.start()
        with self.condition:
            self.target = index + 1 + _PREFETCH_AHEAD
            self.condition.notify_all()

    def _prefetch(self, index: int) -> None:
        while index < len(self.paths):
            with self.condition:
                while index >= self.target and not self.stopped:
                    self.condition.wait()
                if self.stopped:
                    return
            path = self.paths[index]
            index += _PREFETCHERS
            if path is None:
                continue
            try:
                descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                try:
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
                finally:
                    os.close(descriptor)
            except OSError:  # the reader meets the same error, and records it
                continue


# Folder dumps: one file in _PREFETCH_WINDOW is probed (above), and after _PREFETCH_AFTER_MISSES
# probes in a row out of the page cache the files are read ahead by _PREFETCHERS threads, up to
# _PREFETCH_AHEAD files ahead of the reader.
_PREFETCH_WINDOW = 256
_PREFETCH_AFTER_MISSES = 2
_PREFETCH_AHEAD = 1024
_PREFETCHERS = 2


def _in_page_cache(descriptor: int) -> bool:
    """Whether the open file's first page is in the page cache, asked with mincore, which reads
    nothing. A read that may not wait for the disk (RWF_NOWAIT) would answer too, but it starts
    reading the file as it fails, and succeeds when the disk is done before it looks again: 0 to
    12 probes in 10,000 right after the file left the cache, on this project's machine. Where
    the system cannot say (no mincore, an empty file) or could not read ahead (no
    posix_fadvise), True: the file is read as it comes."""
    if not hasattr(os, "posix_fadvise"):
        return True
    vector = ctypes.create_string_buffer(1)
    try:
        mincore = _mincore()
        with mmap.mmap(descriptor, 1, access=mmap.ACCESS_COPY) as mapped:
            first_byte = ctypes.c_char.from_buffer(mapped)  # for the mapping's address
            try:
                status = mincore(ctypes.addressof(first_byte), 1, vector)
            finally:
                del first_byte  # the mapping closes only once nothing points into it
    except (AttributeError, OSError, TypeError, ValueError):
        return True
    return status != 0 or bool(vector.raw[0] & 1)


@cache
def _mincore() -> Callable[[int, int, ctypes.Array], int]:
    mincore = ctypes.CDLL(None, use_errno=True).mincore
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    return mincore


_LINKED_FOLDER = "linked folder"


def _txt_files(base: str, others: DumpFiles | None = None) -> Iterator[tuple[str, tuple[bool, bool] | OSError | str]]:
    """(path, (is a symlink, is a regular file or a link to one)) of every .txt entry under
    base that is not a folder, (path, error) of every folder that cannot be listed, and (path,
    _LINKED_FOLDER) of every symlink to a folder. Known without a system call, but for symlinks.
    The other files are counted in `others`, if given."""
    for folder, entry in _files(base):
        if isinstance(entry, OSError):
            yield folder, entry
        elif entry.is_symlink() and _is_folder(entry):
            yield os.path.join(folder, entry.name), _LINKED_FOLDER
        elif entry.name.lower().endswith(".txt"):
            try:
                is_regular = entry.is_file()
            except OSError:
                is_regular = False
            yield os.path.join(folder, entry.name), (entry.is_symlink(), is_regular)
        elif others is not None:
            others.add_entry(entry)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _files(base: str) -> Iterator[tuple[str, os.DirEntry | OSError]]:
    """(folder, directory entry) of every file under base as os.walk finds them (symlinked
    folders are listed as entries, not entered), and (folder, error) for a folder that cannot be opened or listed
    (no permission, a path over PATH_MAX). Whether an entry is a folder or a symlink costs no
    system call, and its stat is taken relative to its open folder, without a lookup of the
    whole path."""
    folders = [base]
    while folders:
        folder = folders.pop()
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            yield folder, error
            continue
        try:
            try:
                with os.scandir(descriptor) as listing:
                    entries = list(listing)
            except OSError as error:
                yield folder, error
                continue
            for entry in entries:
                if _is_folder(entry) and not entry.is_symlink():
                    folders.append(os.path.join(folder, entry.name))
                else:
                    yield folder, entry
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


def _decompressed(path: Path) -> io.BufferedIOBase:
    lowered = path.name.lower()
    if lowered.endswith((".gz", ".zst")):
        members = _Members(path.open("rb"), "gzip" if lowered.endswith(".gz") else "zstd")
        return io.BufferedReader(members, buffer_size=1 << 16)
    return path.open("rb")


class _Members(io.RawIOBase):
    """The decompressed bytes of a file of one or more gzip members or zstd frames. A file
    that ends inside one raises EOFError, damage raises ValueError. zstandard's own stream
    reader ends silently inside a frame, and Python's gzip reads each member's header in Python:
    a WET file holds a member per record, and that costs more than the decompression."""

    def __init__(self, file: io.BufferedIOBase, compression: str) -> None:
        # Compressed bytes per step: even a run of the densest blocks expands it to no more
        # than a few tens of MB (deflate expands at most about 1,000 times, zstd far more).
        if compression == "gzip":
            # ISA-L inflates twice as fast as zlib, with zlib's interface (benchmarks/bench_readers.py).
            from isal import isal_zlib

            self._new_member = lambda: isal_zlib.decompressobj(wbits=isal_zlib.MAX_WBITS | 16)
            self._errors: tuple[type[Exception], ...] = (isal_zlib.error,)
            self._step = 8192
        else:
            import zstandard

            self._new_member = zstandard.ZstdDecompressor().decompressobj
            self._errors = (zstandard.ZstdError,)
            self._step = 2048
        self._file, self._compression = file, compression
        self._member = self._new_member()
        self._in_member = False
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            compressed = self._file.read(self._step)
            if not compressed:
                if self._in_member:
                    raise EOFError(f"the {self._compression} stream ends inside a {self._unit}")
                return 0
            self._pending = memoryview(self._decompress(compressed))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    @property
    def _unit(self) -> str:
        return "member" if self._compression == "gzip" else "frame"

    def _decompress(self, compressed: bytes) -> bytes:
        out = []
        while compressed:
            if not self._in_member and self._compression == "gzip":
                compressed = compressed.lstrip(b"\0")  # zeros may pad a gzip file between members
                if not compressed:
                    break
            try:
                out.append(self._member.decompress(compressed))
            except self._errors as error:
                raise ValueError(f"corrupt {self._compression} data: {error}") from None
            self._in_member = not self._member.eof
            if self._in_member:
                break
            compressed, self._member = self._member.unused_data, self._new_member()
        return b"".join(out)

    def close(self) -> None:
        self._file.close()
        super().close()


def _jsonl_batches(path: Path, limits: ReadLimits, budget: _DumpBudget) -> Iterator[pl.DataFrame]:
    """A JSON lines dump's pages in batches within the limits' batch_pages and batch_bytes, each
    line's JSON read with its batch's (_json_pages); the last batch ends with a row for where
    the stream broke or the dump stopped, if it did."""
    numbers: list[int] = []
    lines: list[bytes | None] = []  # None: a line over the page limit, whose bytes are not kept
    sizes: list[int] = []
    batch_bytes = 0
    ending: list[dict] = []
    with _decompressed(path) as stream:
        for number, line, size in _json_lines(stream, path, limits.max_page_bytes, budget, ending):
            held = 0 if line is None else size  # a rejection holds no text
            if limits.batch_is_full(len(numbers), batch_bytes, held):
                yield _json_lines_frame(numbers, lines, sizes, limits.max_page_bytes)
                numbers, lines, sizes, batch_bytes = [], [], [], 0
            numbers.append(number)
            lines.append(line)
            sizes.append(size)
            batch_bytes += held
    if numbers or ending:
        frame = _json_lines_frame(numbers, lines, sizes, limits.max_page_bytes)
        yield pl.concat([frame, _records_frame(ending)]) if ending else frame


def _json_lines_frame(numbers: list[int], lines: list[bytes | None], sizes: list[int], limit: int) -> pl.DataFrame:
    """The pages of a batch of lines (_json_lines'); a line without an id is known by its number."""
    line_ids = [str(number) for number in numbers]
    kept = [row for row, line in enumerate(lines) if line is not None]
    if len(kept) == len(lines):
        return _json_pages(lines, line_ids, sizes)
    records = [
        {"page_id": page_id} if line is not None else _too_large(page_id, size, limit)
        for page_id, line, size in zip(line_ids, lines, sizes)
    ]
    if not kept:
        return _records_frame(records)
    pages = _json_pages([lines[row] for row in kept], [line_ids[row] for row in kept], [sizes[row] for row in kept])
    return _with_rows(_records_frame(records), kept, pages.get_columns())


# JSON lines are found in the chunks the decompressed stream gives (a gzip member's step: tens
# of KB), by a search for each line's end; a readline per line cost more than reading its JSON.
_LINES_CHUNK = 1 << 20
# What bytes.strip() removes: a line that starts with none of these holds more than white space.
_WHITE_SPACE = frozenset(b" \t\n\r\x0b\x0c")
# Runs of empty lines are skipped at once, up to the first other byte: a few KB of compressed
# line ends expand to millions of them, which a search per line would take seconds over.
_LINE_END = frozenset(b"\r\n")
_NOT_LINE_END = re.compile(rb"[^\r\n]")


def _json_lines(
    stream: io.BufferedIOBase, path: Path, limit: int, budget: _DumpBudget, ending: list[dict]
) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line, size) per line that holds more than white space, with its line end;
    line is None when it is longer than limit, and its bytes are not kept. A line's bytes and
    record are spent from the budget as it is read (a chunk's at once when they fit). Where the
    stream breaks or the budget stops the dump, `ending` gets the row that says so."""
    line_no = 0
    head: list[bytes] = []  # the start of a line that goes on in the next chunk
    head_bytes = 0
    over = 0  # the bytes so far of a line past the limit; 0 outside one
    found: list[tuple[int, bytes | None, int, int]] = []  # a chunk's (line number, line, size, its end in the chunk)

    def complete(line: bytes, end: int) -> None:
        nonlocal line_no
        line_no += 1
        if line[0] in _WHITE_SPACE:
            if not line.strip():
                return
            # A line's leading carriage returns are blank lines' ends, not part of the page.
            line = line.lstrip(b"\r")
        if len(line) - line.endswith(b"\n") > limit:
            found.append((line_no, None, len(line), end))
        else:
            found.append((line_no, line, len(line), end))

    while True:
        try:
            chunk = stream.read1(_LINES_CHUNK)
        except (OSError, EOFError, ValueError) as error:  # a truncated or corrupt compressed stream
            ending.append(_page(f"{text_of_name(path.name)}#truncated", status="bad_record", detail=f"stream ends early: {error}"))
            return
        found.clear()
        start = 0
        if not chunk:
            if over:
                line_no += 1
                found.append((line_no, None, over, 0))
            elif head:
                complete(b"".join(head), 0)
        while True:
            if not (over or head) and start < len(chunk) and chunk[start] in _LINE_END:
                other = _NOT_LINE_END.search(chunk, start)
                last_end = chunk.rfind(b"\n", start, other.start() if other else len(chunk))
                if last_end >= 0:
                    line_no += chunk.count(b"\n", start, last_end + 1)
                    start = last_end + 1
            if not (end := chunk.find(b"\n", start) + 1):
                break
            if over:
                line_no += 1
                found.append((line_no, None, over + end, end))
                over = 0
            elif head:
                head.append(chunk[start:end])
                complete(b"".join(head), end)
                head, head_bytes = [], 0
            else:
                complete(chunk[start:end], end)
            start = end
        if start < len(chunk):  # a line that goes on in the next chunk
            if over:
                over += len(chunk) - start
            else:
                head.append(chunk[start:])
                head_bytes += len(chunk) - start
                if head_bytes > limit + 1:
                    over, head, head_bytes = head_bytes, [], 0
        try:
            if budget.allows(len(chunk), len(found)):
                budget.spend(len(chunk), len(found))
                for number, line, size, _ in found:
                    yield number, line, size
            else:  # one line at a time, to keep every line before the limit
                spent = 0
                for number, line, size, end in found:
                    budget.spend(end - spent, records=1)
                    spent = end
                    yield number, line, size
                budget.spend(len(chunk) - spent)
        except DumpStopped as stop:
            ending.append(_stopped(path, stop))
            return
        if not chunk:
            return


def _wet_records(path: Path, limit: int, budget: _DumpBudget) -> Iterator[dict]:
    """The conversion records of a WARC/WET file, one page each (FastWARC: 2.7 times warcio's
    rate here; benchmarks/bench_readers.py)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with _decompressed(path) as decompressed:
        stream = _EndsAtDamage(decompressed, budget)
        records = ArchiveIterator(stream, record_types=WarcRecordType.conversion, parse_http=False)
        for number, record in enumerate(records, start=1):
            headers = record.headers
            fields = {"url": headers.get("WARC-Target-URI"), "crawl_date": headers.get("WARC-Date")}
            page_id, declared = headers.get("WARC-Record-ID"), record.content_length
            if page_id is None:
                yield _page(str(number), status="bad_record", detail="a conversion record without WARC-Record-ID", **fields)
            elif declared > limit:
                yield _too_large(page_id, declared, limit, **fields)
            elif len(raw := record.reader.read()) < declared:
                detail = f"the record ends after {len(raw)} of its {declared} bytes"
                yield _page(page_id, size_bytes=len(raw), status="bad_record", detail=detail, **fields)
            else:
                yield _page(page_id, raw, **fields)
        if stream.damage is not None:
            yield _page(f"{text_of_name(path.name)}#truncated", status="bad_record", detail=f"stream ends early: {stream.damage}")


class _EndsAtDamage(io.RawIOBase):
    """A decompressed stream that ends where its compressed data breaks, keeping the error in
    `damage`, and spends what it reads from the dump's budget. FastWARC drops the records it
    has buffered when its stream raises, and ends silently at damage in its own gzip reader:
    this way the records before the damage are read and the damage gets its row."""

    def __init__(self, stream: io.BufferedIOBase, budget: _DumpBudget) -> None:
        self._stream, self._budget = stream, budget
        self.damage: Exception | None = None
        self._position = 0

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # FastWARC asks where the stream is (a seek by 0 from here) to note where records start.
        if (offset, whence) not in ((0, io.SEEK_CUR), (self._position, io.SEEK_SET)):
            raise io.UnsupportedOperation("a decompressed stream is read forward only")
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        if self.damage is not None:
            return 0
        try:
            size = self._stream.readinto(buffer)
        except (OSError, EOFError, ValueError) as error:
            self.damage = error
            return 0
        self._budget.spend(size)
        self._position += size
        return size


# A JSON string can hold a lone surrogate ("\\udc80"), which no UTF-8 column can store.
_SURROGATE_ESCAPES = (b"\\ud", b"\\uD")
# The fields of a JSON line that a page is made of.
_JSON_FIELDS = ("id", "url", "crawl_date", "date", "text")


def _json_value(line: bytes) -> tuple[object, bool]:
    """(the line's JSON value as json.loads gives it, whether it may hold a lone surrogate).

    orjson reads a line faster than json, and refuses lone surrogates: a line it reads needs no
    scan for them. What it refuses (NaN, a byte order mark, UTF-16, lone surrogates) goes to
    json, which decides, as does a record whose page fields it read as a float (an integer
    past 64 bits becomes one)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if not (isinstance(value, dict) and any(isinstance(value.get(key), float) for key in _JSON_FIELDS)):
            return value, False
    return json.loads(line), any(escape in line for escape in _SURROGATE_ESCAPES)


def _json_pages(lines: list[bytes], line_ids: list[str], sizes: list[int]) -> pl.DataFrame:
    """The pages of JSON lines, with the RECORD_SCHEMA columns (crawl_date as text), as
    _json_record reads them one at a time; `line_ids`: the page_id of a line without an id,
    `sizes`: each line's bytes.

    pyarrow's JSON reader reads the lines together, without a Python object per value and
    without holding the GIL (docs/scaling.md). Where it refuses them (_read_json_lines), every
    line of the batch is read one at a time, and so is a line without a text, whose rejection
    says why."""
    read = _read_json_lines(b"".join(lines))
    if read is None or read.num_rows != len(lines):  # a line holding two objects gives two rows
        return _records_frame([_json_record(line, page_id) for line, page_id in zip(lines, line_ids)])
    pages = pl.from_arrow(read).select(
        page_id=pl.coalesce("id", pl.Series(line_ids, dtype=pl.String)),
        crawl_date=pl.when(pl.col("crawl_date").is_null() | (pl.col("crawl_date") == "")).then("date").otherwise("crawl_date"),
        url="url",
        text="text",
        encoding=pl.lit("json"),
        size_bytes=pl.Series(sizes, dtype=pl.Int64),
        status=pl.lit(None, pl.String),
        detail=pl.lit(None, pl.String),
    )
    without_text = pages["text"].is_null().arg_true().to_list()
    if not without_text:
        return pages
    rejected = _records_frame([_json_record(lines[row], line_ids[row]) for row in without_text])
    return _with_rows(pages, without_text, rejected.get_columns())


def _read_json_lines(lines: bytes):
    """The JSON lines' page fields as a pyarrow table, a row per object, or None where pyarrow
    refuses them as json would (invalid JSON, NaN, a lone surrogate, a key given twice), where a
    page field is not text, or where they are not UTF-8: pyarrow checks the fields it reads,
    not the keys and values it skips, and json refuses a line for any of them."""
    import pyarrow as pa
    import pyarrow.json as pa_json

    # ASCII (JSON written with its other characters escaped) is UTF-8, and isascii() tells it
    # twice as fast as a copy into polars checks it (8.9 against 16.2 ms for 56 MiB).
    if not lines.isascii():
        try:
            pl.Series([lines], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.ComputeError:
            return None
    schema = pa.schema([(field, pa.string()) for field in _JSON_FIELDS])
    try:
        return pa_json.read_json(
            pa.py_buffer(lines if lines.endswith(b"\n") else lines + b"\n"),  # a stream's last line may have no end
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(lines) + 2),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (ValueError, OverflowError):  # pyarrow.ArrowInvalid is a ValueError
        return None


def _json_record(line: bytes, page_id: str) -> dict:
    try:
        record, may_hold_surrogates = _json_value(line)
    except ValueError as error:
        return _page(page_id, status="bad_record", detail=f"invalid JSON: {error}", size_bytes=len(line))
    except RecursionError:
        # json's own limit, which pyarrow, reading a batch of lines, does not have (_json_pages)
        read = _read_json_lines(line)
        if read is None or read.num_rows != 1 or read["text"][0].as_py() is None:
            return _page(page_id, status="bad_record", detail="invalid JSON: nested too deep", size_bytes=len(line))
        record, may_hold_surrogates = read.to_pylist()[0], False
    if not isinstance(record, dict):
        return _page(page_id, status="bad_record", detail="JSON line is not an object", size_bytes=len(line))
    if may_hold_surrogates:
        record = {key: text_of_name(value) if isinstance(value, str) else value for key, value in record.items()}
    if record.get("id") is not None:
        page_id = _optional_str(record["id"])
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
    return text_of_name("/".join(parts)[: -len(".txt")])


def _zip_records(path: Path, limit: int, budget: _DumpBudget) -> Iterator[dict]:
    with _open_zip(path) as (archive, name_of):
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".txt"):
                continue
            page_id = _member_page_id(name_of(info.filename))
            if info.file_size > limit:
                yield _too_large(page_id, info.file_size, limit)
                continue
            try:
                with archive.open(info) as member:
                    raw = member.read(limit + 1)  # the declared size may lie (zip bombs)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, zlib.error, RuntimeError) as error:
                # RuntimeError: an encrypted member ("password required")
                yield _page(page_id, status="unreadable", detail=f"broken archive member: {error}")
                continue
            budget.spend(len(raw))
            yield _too_large(page_id, len(raw), limit) if len(raw) > limit else _page(page_id, raw)


@contextmanager
def _open_zip(path: Path) -> Iterator[tuple[zipfile.ZipFile, Callable[[str], str]]]:
    """The archive, and how a member's name reads. A member flagged as named in UTF-8 whose
    name is not UTF-8 makes zipfile refuse the whole archive; then the archive is read with the
    flags cleared, and each name's bytes are escaped like any name that is not UTF-8."""
    try:
        archive = zipfile.ZipFile(path)
    except UnicodeDecodeError:
        with path.open("rb") as file, zipfile.ZipFile(_Utf8FlagsCleared(file)) as archive:
            yield archive, lambda name: name.encode("cp437").decode("utf-8", "surrogateescape")
        return
    with archive:
        yield archive, str


class _Utf8FlagsCleared(io.RawIOBase):
    """A zip file as read with the "name is UTF-8" flag cleared in its central directory and its
    local headers, so that zipfile takes each name as cp437, which maps every byte."""

    def __init__(self, file: io.BufferedReader) -> None:
        self.file = file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        if data[:4] == b"PK\x03\x04" and len(data) >= 8:  # a local header: flags at offset 6
            return data[:7] + bytes([data[7] & ~0x08]) + data[8:]
        if data[:4] != b"PK\x01\x02":
            return data
        patched, at = bytearray(data), 0
        while patched[at : at + 4] == b"PK\x01\x02" and at + 46 <= len(patched):  # central directory entries
            patched[at + 9] &= ~0x08  # flags at offset 8, little-endian: bit 11 is bit 3 of the second byte
            names, extra, comment = struct.unpack_from("<HHH", patched, at + 28)
            at += 46 + names + extra + comment
        return bytes(patched)


def _tar_records(path: Path, limit: int, budget: _DumpBudget) -> Iterator[dict]:
    with tarfile.open(path, "r:gz") as archive:
        try:
            for member in archive:
                budget.spend(member.size)  # skipping a member decompresses it all the same
                if not member.name.lower().endswith(".txt") or member.isdir():
                    continue
                page_id = _member_page_id(member.name)
                if not member.isfile():
                    yield _page(page_id, status="unsafe_member", detail="link or device in the archive, not read")
                elif member.size > limit:
                    yield _too_large(page_id, member.size, limit)
                else:
                    yield _page(page_id, archive.extractfile(member).read())
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            yield _page(f"{text_of_name(path.name)}#truncated", status="bad_record", detail=f"archive ends early: {error}")


# The columns a Parquet dump's pages may have besides text; any other column is not read.
_PARQUET_FIELDS = ("id", "url", "crawl_date", "date")


def _parquet_batches(path: Path, editions, limits: ReadLimits, budget: _DumpBudget) -> Iterator[pl.DataFrame]:
    """A Parquet dump's rows as record frames. A row group is read once the text bytes its
    footer declares fit the dump's limits, its text as views (polars) or as a dictionary
    (pyarrow, when polars cannot read it), so that a value repeated on many rows is held once;
    it is cut into pieces by the bytes of text they hold before any text is copied out: memory
    follows the limits, not how well the file compresses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text_type = schema.field("text").type if "text" in schema.names else None
    if text_type is not None and pa.types.is_dictionary(text_type):  # a categorical column: its values' type
        text_type = text_type.value_type
    readable_text = text_type is not None and (
        pa.types.is_string(text_type) or pa.types.is_large_string(text_type) or pa.types.is_string_view(text_type)
        or pa.types.is_binary(text_type) or pa.types.is_large_binary(text_type) or pa.types.is_binary_view(text_type)
    )
    fields = [name for name in _PARQUET_FIELDS if name in schema.names and _is_scalar(schema.field(name).type)]
    parquet = pq.ParquetFile(path, read_dictionary=["text"] if readable_text else None)
    columns = fields + (["text"] if readable_text else [])
    first_row = 1
    try:
        for group in range(parquet.num_row_groups):
            declared = parquet.metadata.row_group(group)
            text_bytes = sum(
                declared.column(index).total_uncompressed_size
                for index in range(declared.num_columns)
                if declared.column(index).path_in_schema == "text"
            )
            budget.look_ahead(text_bytes)  # the row group's whole text counts against the limits before any is read
            slice_rows = max(1, min(limits.batch_pages, declared.num_rows * limits.batch_bytes // max(text_bytes, 1)))
            if columns:
                view_rows = max(1, declared.num_rows * _TEXT_VIEWS_SLICE_BYTES // max(text_bytes, 1))
                slices = (
                    readable_text and _row_group_with_text_views(path, parquet, group, first_row - 1, fields, view_rows)
                ) or parquet.iter_batches(batch_size=slice_rows, row_groups=[group], columns=columns)
            else:  # nothing to read but the number of rows, each of which gets its row
                slices = (
                    pa.record_batch({"row": pa.nulls(min(slice_rows, declared.num_rows - start))})
                    for start in range(0, declared.num_rows, slice_rows)
                )
            for rows in slices:
                for piece, sizes, read_bytes in _pieces_by_text_bytes(rows, limits) if readable_text else [(rows, None, 0)]:
                    budget.spend(read_bytes, records=piece.num_rows)
                    yield _parquet_frame(piece, sizes, first_row, fields, text_type, limits.max_page_bytes, editions)
                    first_row += piece.num_rows
    except DumpStopped as stop:
        yield _frame([_stopped(path, stop)], editions)


# polars reads a row group's text in slices of about this many bytes, which the parse then cuts
# into batches. Each slice read costs about 12 ms: a 1.1 GB row group read in 32 MiB slices took
# 2.2 s against 1.8 s whole, and peaked at 776 MB against 1,630 MB in the parse.
_TEXT_VIEWS_SLICE_BYTES = 32 * 1024 * 1024


def _row_group_with_text_views(
    path: Path, parquet, group: int, offset: int, fields: list[str], slice_rows: int
) -> Iterator | None:
    """A row group's rows as record batches of slice_rows rows, their text read by polars, whose
    strings are views into the decompressed pages and into the dictionary page: a value
    repeated on many rows is held once, and nothing is hashed (pyarrow's dictionary read hashes
    every page into a dictionary of distinct values, four times the row group's text in
    memory). A slice at a time, because a row group may hold a whole dump: pandas and pyarrow
    write up to a million rows in one (a 167,000-page dump in one row group took a worker to
    1.6 GB read whole). None when polars does not read the text as strings or bytes (a
    categorical; a string column holding bytes that are not UTF-8): pyarrow reads that row group
    as a dictionary."""
    import pyarrow as pa

    rows = parquet.metadata.row_group(group).num_rows
    first = _text_views(path, offset, min(slice_rows, rows))
    if first is None:
        return None
    others = parquet.read_row_group(group, columns=fields)

    def batches() -> Iterator:
        text = first
        for start in range(0, rows, slice_rows):
            length = min(slice_rows, rows - start)
            if start:
                text = _text_views(path, offset + start, length)
            if text is None:  # polars failed past the first slice: pyarrow reads the rest
                rest = parquet.iter_batches(batch_size=slice_rows, row_groups=[group], columns=[*fields, "text"])
                yield from itertools.islice(rest, start // slice_rows, None)
                return
            columns = [others.column(name).slice(start, length).combine_chunks() for name in fields]
            yield pa.RecordBatch.from_arrays([*columns, text], names=[*fields, "text"])

    return batches()


def _text_views(path: Path, offset: int, rows: int):
    """Rows [offset, offset + rows) of the text column as Arrow string or binary views, read by
    polars; None if polars cannot read them as strings or bytes."""
    import polars.exceptions

    try:
        text = pl.scan_parquet(path, glob=False).select("text").slice(offset, rows).collect().to_series()
    except (polars.exceptions.PolarsError, polars.exceptions.PanicException):  # pyarrow may still read it
        return None
    if text.dtype not in (pl.String, pl.Binary) or text.len() != rows:
        return None
    return text.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())


def _is_scalar(data_type) -> bool:
    import pyarrow as pa

    return not (pa.types.is_nested(data_type) or pa.types.is_dictionary(data_type))


def _text_sizes(text) -> np.ndarray:
    """Bytes of each row's text (0 for null), from the dictionary's values when the text is
    one: no value is decoded to count it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(text.type):
        sizes = pc.take(pc.binary_length(text.dictionary), text.indices)
    elif _is_view(text.type):  # Arrow's compute functions have no kernels for views yet
        return np.where(_valid(text), _view_lengths(text), 0).astype(np.int64)
    else:
        sizes = pc.binary_length(text)
    return sizes.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def _pieces_by_text_bytes(rows, limits: ReadLimits) -> Iterator[tuple[object, np.ndarray, int]]:
    """(piece, bytes of each of its texts, bytes of text it will decode) for consecutive pieces
    of the rows, each holding at most limits.batch_bytes of text within the page limit, or one
    page larger than that."""
    sizes = _text_sizes(rows.column("text"))
    kept = np.where(sizes > limits.max_page_bytes, 0, sizes)
    start, held = 0, 0
    # Cut where the next row would pass batch_bytes: a loop over the cut points only, which the
    # cumulative sum finds in one search each.
    cumulative = np.cumsum(kept)
    while start < rows.num_rows:
        end = int(np.searchsorted(cumulative, held + limits.batch_bytes, side="right"))
        end = max(end, start + 1)  # a page larger than batch_bytes is a piece of its own
        piece_sizes = sizes[start:end]
        piece = _with_flat_text(rows.slice(start, end - start), piece_sizes > limits.max_page_bytes)
        yield piece, piece_sizes, int(cumulative[end - 1] - held)
        start, held = end, int(cumulative[end - 1])


def _is_view(data_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string_view(data_type) or pa.types.is_binary_view(data_type)


def _view_lengths(views) -> np.ndarray:
    """The byte length of each value of a string or binary view array: the first 4 bytes of its
    16-byte view (undefined for a null)."""
    view_words = np.frombuffer(views.buffers()[1], dtype=np.int32).reshape(-1, 4)
    return view_words[views.offset : views.offset + len(views), 0]


def _valid(values) -> np.ndarray:
    return values.is_valid().to_numpy(zero_copy_only=False)


def _with_flat_text(rows, too_large: np.ndarray):
    """The rows with text that polars read (views) as Arrow's large strings or bytes, which
    Arrow's compute functions take: a copy of this piece's texts within the page limit only
    (the others become nulls first, their views masked by a new validity bitmap)."""
    import pyarrow as pa

    index = rows.schema.get_field_index("text")
    text = rows.column(index)
    if not _is_view(text.type):
        return rows
    kept = np.zeros(text.offset + len(text), dtype=bool)
    kept[text.offset :] = _valid(text) & ~too_large
    validity = pa.py_buffer(np.packbits(kept, bitorder="little"))
    masked = pa.Array.from_buffers(text.type, len(text), [validity, *text.buffers()[1:]], offset=text.offset)
    flat = masked.cast(pa.large_string() if pa.types.is_string_view(text.type) else pa.large_binary())
    return rows.set_column(index, "text", flat)


def _parquet_frame(rows, sizes, first_row: int, fields: list[str], text_type, limit: int, editions) -> pl.DataFrame:
    """Record frame of one piece of Parquet rows: string text as it is, binary text decoded like
    a file's bytes, text over the page limit not decoded, any other text type rejected."""
    import pyarrow as pa
    import pyarrow.compute as pc

    frame = pl.from_arrow(_with_valid_utf8(rows.select(fields))) if fields else pl.DataFrame(height=rows.num_rows)
    crawl = [pl.col(name).cast(pl.String, strict=False) for name in ("crawl_date", "date") if name in fields]
    frame = frame.select(
        page_id=pl.coalesce(
            *([pl.col("id").cast(pl.String, strict=False)] if "id" in fields else []),
            pl.int_range(first_row, first_row + rows.num_rows).cast(pl.String),
        ),
        crawl_date=pl.coalesce(crawl) if crawl else pl.lit(None, pl.String),
        url=pl.col("url").cast(pl.String, strict=False) if "url" in fields else pl.lit(None, pl.String),
    )
    if "text" not in rows.schema.names:
        detail = "no text column" if text_type is None else f"text is a {text_type}, not a string"
        return frame.with_columns(
            text=pl.lit(None, pl.String), encoding=pl.lit("parquet"), size_bytes=pl.lit(None, pl.Int64),
            status=pl.lit("bad_record"), detail=pl.lit(detail),
        )
    text = rows.column("text")
    too_large = pa.array(sizes > limit)
    if pa.types.is_dictionary(text.type):  # decode only the rows within the page limit
        indices = pc.if_else(too_large, pa.scalar(None, text.indices.type), text.indices)
        text = pa.DictionaryArray.from_arrays(indices, text.dictionary).dictionary_decode()
    else:
        text = pc.if_else(too_large, pa.scalar(None, text.type), text)
    # Checked once decoded: a slice's dictionary holds every page of its row group read so far.
    if _is_string(text.type) and not _holds_utf8(text):
        text = text.cast(pa.large_binary())
    is_binary = pa.types.is_binary(text.type) or pa.types.is_large_binary(text.type) or pa.types.is_binary_view(text.type)
    frame = frame.with_columns(
        text=pl.lit(None, pl.String) if is_binary else pl.from_arrow(text).cast(pl.String),
        encoding=pl.lit("parquet"),
        size_bytes=pl.Series(sizes).cast(pl.Int64),
        status=pl.lit(None, pl.String),
        detail=pl.lit(None, pl.String),
        too_large=pl.Series(sizes > limit),
        missing=pl.Series(text.is_null().to_numpy(zero_copy_only=False)),
    ).with_columns(
        size_bytes=pl.when(pl.col("missing") & ~pl.col("too_large")).then(None).otherwise("size_bytes"),
        status=pl.when("too_large").then(pl.lit("too_large")).when("missing").then(pl.lit("bad_record")),
        detail=pl.when("too_large")
        .then(pl.format("{} bytes, over the {}-byte page limit", "size_bytes", pl.lit(limit)))
        .when("missing")
        .then(pl.lit("text is null")),
    ).drop("too_large", "missing")
    if not is_binary:
        return frame
    raw_rows = np.flatnonzero(~text.is_null().to_numpy(zero_copy_only=False))
    return _with_decoded(frame, raw_rows.tolist(), text.take(pa.array(raw_rows, pa.int64())).to_pylist(), editions)


def _with_valid_utf8(rows):
    """The rows with every string column holding UTF-8, odd bytes escaped. Arrow does not check
    what a Parquet writer put in a string column. (The text is checked apart: text with other
    bytes is decoded like a file's, page by page.)"""
    import pyarrow as pa

    columns = []
    for column in rows.columns:
        if not _is_string(column.type) or _holds_utf8(column):
            columns.append(column)
            continue
        raw = column.cast(pa.large_binary()).to_pylist()
        escaped = [None if v is None else text_of_name(v.decode("utf-8", "surrogateescape")) for v in raw]
        columns.append(pa.array(escaped, pa.large_string()))
    return pa.RecordBatch.from_arrays(columns, names=rows.schema.names)


def _is_string(data_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type)


def _holds_utf8(values) -> bool:
    import pyarrow as pa

    try:
        values.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


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
