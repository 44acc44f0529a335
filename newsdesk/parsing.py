"""Parse one dump into its partition file: every page read, decoded, parsed and given the
columns the publish needs, written atomically as one Parquet file."""

import ctypes
import hashlib
import queue
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from newsdesk.files import durable_write
from newsdesk.periodic import repeated
from newsdesk.readers import Dump, DumpFiles, ReadLimits, read_dump
from newsdesk.transforms import IN_MEMORY
from newsdesk.transforms.editions import load_editions
from newsdesk.transforms.language import ARTICLE_OPENING_CHARS, identify_languages
from newsdesk.transforms.parse import PARSED_SCHEMA, parse_pages

# The partition file: the parsed pages, plus what the publish step needs from each page so that
# it never reads every dump again: the body's length and language (an article's text is its
# longest body, and its language that body's) and the ticker's headline ids (which replace the
# headline keys they are hashed from). A ticker repeats on every page crawled at the same time:
# the pages of a batch are grouped by edition, crawl date and ticker line (ticker_group: the
# dump's row of the group's first page), and only that page holds the ticker's texts and ids,
# which the publish reads once per group instead of once per page.
PART_SCHEMA = {
    "dump_id": pl.String,
    **{name: dtype for name, dtype in PARSED_SCHEMA.items() if name not in ("ticker_keys", "ticker_first_row")},
    "ticker_ids": pl.List(pl.String),
    "ticker_group": pl.Int64,
    "body_length": pl.Int64,
    "body_language": pl.String,
    "body_language_score": pl.Float64,
}
# Batches read ahead of the parsers: reading (I/O and Python) and parsing (polars, outside the
# GIL) overlap on two cores.
_READ_AHEAD = 2
# Batches of one dump parsed at once: a dump parsed alone keeps both cores busy.
DEFAULT_PARSE_THREADS = 2
# glibc's malloc arenas a process may hold (mallopt M_ARENA_MAX, below).
_M_ARENA_MAX, _MALLOC_ARENAS = -8, 2


@dataclass
class ParseReport:
    signature: str = ""  # the dump's, as read (Dump.signature)
    pages: int = 0
    bytes: int = 0
    headline_sightings: int = 0
    by_status: Counter = field(default_factory=Counter)
    preview: pl.DataFrame | None = None


def write_parsed_dump(
    dump: Dump,
    target: Path,
    *,
    limits: ReadLimits = ReadLimits(),
    threads: int = DEFAULT_PARSE_THREADS,
    log: Callable[[str], None] | None = None,
) -> ParseReport:
    """Parse every page of a dump into one Parquet file at target, replacing it atomically:
    readers see the old file or the new one, never a half-written one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _limit_malloc_arenas()

    editions = load_editions()
    report = ParseReport()
    files = DumpFiles()
    started = time.monotonic()

    def log_progress() -> None:
        if report.pages:
            rate = report.pages / max(time.monotonic() - started, 1e-9)
            log(f"{dump.dump_id}: {report.pages}{_PAGES_READ} {rate:,.0f} pages/s")

    # Logged from a thread of its own: Dagster stores a log line in SQLite, whose commit waits
    # for the disk, seconds a line behind a dump read from a busy disk, and a parse that logged
    # between its batches waited as long (docs/scaling.md). A line that cannot be stored (the
    # event log's disk full) fails the parse.
    progress = repeated(PROGRESS_LOG_SECONDS, log_progress, "progress-log") if log is not None else nullcontext()
    schema = _as_arrow(pl.DataFrame(schema=PART_SCHEMA)).schema
    with durable_write(target) as temporary, progress:
        with pq.ParquetWriter(temporary, schema, compression="zstd", compression_level=1) as writer:
            for parsed in _parsed_batches(dump, editions, limits, threads, files):
                writer.write_table(_as_arrow(parsed).cast(schema))
                report.pages += parsed.height
                report.bytes += int(parsed["size_bytes"].sum() or 0)
                report.headline_sightings += _headline_sightings(parsed)
                report.by_status.update(dict(parsed["status"].value_counts().iter_rows()))
                if report.preview is None:
                    report.preview = parsed.filter(pl.col("status") == "ok").head(5)
        _reject_repeated_ids(temporary, schema, report)
    # A read stopped by its limits has not counted every file of a folder.
    report.signature = files.signature(dump.format) if files.complete else dump.signature
    # A run worker parses dump after dump. Arrow's allocator keeps what a dump freed (the
    # writer's buffers, the text copied out of a Parquet dump) for Arrow's own reuse, and the
    # next dump asks most of its memory of polars' allocator instead.
    pa.default_memory_pool().release_unused()
    return report


def _limit_malloc_arenas() -> None:
    """Two malloc arenas for the process instead of glibc's default of eight per core. A run
    worker parses dump after dump with a reader thread and parse threads, and each thread's
    arena kept its share of freed memory: a process grew by 240 MB over 20 dumps, and by 130 MB
    with two arenas, for the same CPU time (docs/scaling.md). Only arenas created afterwards
    are limited, so it is done before the parse's threads start."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's; other C libraries may have none
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, _MALLOC_ARENAS)


def _as_arrow(frame: pl.DataFrame):
    """The frame as Arrow without copying its text: polars' own string views, which the Parquet
    writer takes as they are (Arrow's older large strings would copy every page's text first)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


# The parse logs its progress once a second: a log line is an event that Dagster stores (a few
# milliseconds), and a dump has a batch every tenth of a second or so.
PROGRESS_LOG_SECONDS = 1.0
_PAGES_READ = " pages read,"  # the progress line: "<dump_id>: 5000 pages read, 9,100 pages/s"
_PAGES_READ_COUNT = re.compile(rf"([0-9]+){_PAGES_READ} [0-9,]+ pages/s$")


def pages_read(log_message: str) -> int | None:
    """The pages read so far that a parse's log line reports, or None for another line."""
    found = _PAGES_READ_COUNT.search(log_message)
    return int(found.group(1)) if found else None


def _headline_sightings(rows: pl.DataFrame) -> int:
    """The headlines the rows' tickers show: each page of a ticker group shows the ticker that
    the group's first page holds."""
    return int(rows.select(pl.col("ticker_ids").list.len().max().over("ticker_group")).to_series().sum() or 0)


# What a page rejected as duplicate_id keeps: where it came from and why it was rejected, and
# its ticker group with the ticker it holds for the group's other pages.
_KEPT_BY_DUPLICATES = (
    "dump_id", "page_id", "crawl_date", "url", "encoding", "size_bytes", "status", "detail",
    "ticker", "ticker_ids", "ticker_group",
)


def _reject_repeated_ids(path: Path, schema, report: ParseReport) -> None:
    """Reject as duplicate_id, in the written partition file, every page whose page_id an
    earlier page of the dump has: the first page with an id is the page, the others keep a
    row with their reason and no article or ticker. One scan of the page_id column finds them;
    only a dump that has some is written again, row group by row group."""
    import pyarrow.parquet as pq

    repeated = (
        pl.scan_parquet(path)
        .select("page_id")
        .with_row_index("row")
        .filter(~pl.col("page_id").is_first_distinct())
        .collect()["row"]
    )
    if repeated.is_empty():
        return
    ticker_lengths = (
        pl.scan_parquet(path)
        .filter(pl.col("ticker_ids").is_not_null())
        .select("ticker_group", length=pl.col("ticker_ids").list.len())
        .collect()
    )
    parquet = pq.ParquetFile(path)
    first_row = 0
    with durable_write(path) as rewritten, pq.ParquetWriter(rewritten, schema, compression="zstd") as writer:
        for group in range(parquet.num_row_groups):
            rows = pl.from_arrow(parquet.read_row_group(group)).with_row_index("row", offset=first_row)
            first_row += rows.height
            is_repeated = pl.col("row").is_in(repeated.implode())
            before = rows.filter(is_repeated)
            report.headline_sightings -= int(before.join(ticker_lengths, on="ticker_group")["length"].sum() or 0)
            report.by_status.subtract(dict(before["status"].value_counts().iter_rows()))
            report.by_status["duplicate_id"] += before.height
            rows = rows.with_columns(
                *(pl.when(is_repeated).then(None).otherwise(pl.col(name)).alias(name)
                  for name in PART_SCHEMA if name not in _KEPT_BY_DUPLICATES),
                status=pl.when(is_repeated).then(pl.lit("duplicate_id")).otherwise("status"),
                detail=pl.when(is_repeated)
                .then(pl.lit("an earlier page of the dump has this page_id: the first one is kept"))
                .otherwise("detail"),
            )
            writer.write_table(_as_arrow(rows.select(list(PART_SCHEMA))).cast(schema))
    report.by_status = +report.by_status  # drops the statuses no page has any more
    report.preview = None if report.preview is None else report.preview.unique("page_id", keep="first")


def part_file_is_current(path: Path) -> bool:
    """Whether a partition file exists and has every column this version writes (a file
    written by an older version is parsed again rather than published)."""
    import pyarrow.parquet as pq

    try:
        return set(PART_SCHEMA) <= set(pq.read_schema(path).names)
    except (OSError, ValueError):
        return False


def with_publish_columns(parsed: pl.DataFrame) -> pl.DataFrame:
    """The parsed pages with ticker_ids, body_length, body_language and body_language_score."""
    return with_body_languages(
        parsed.with_columns(ticker_ids=headline_ids(parsed["ticker_keys"]), body_length=pl.col("body").str.len_chars())
    )


def headline_ids(ticker_keys: pl.Series) -> pl.Series:
    """Each list of headline keys as headline ids: the first 16 hex digits of the key's MD5,
    which the warehouse SQL computes as substr(md5(key), 1, 16). Tickers repeat from page to
    page, so each distinct key is hashed once."""
    keys = ticker_keys.explode().drop_nulls().unique()
    ids = pl.Series([hashlib.md5(key.encode()).hexdigest()[:16] for key in keys], dtype=pl.String)
    # Pages without a ticker are null lists, which list.eval would take a hundred times slower.
    no_ticker = pl.lit([], dtype=pl.List(pl.String))
    return ticker_keys.to_frame("keys").select(
        pl.when(pl.col("keys").is_not_null()).then(
            pl.col("keys")
            .fill_null(no_ticker)
            .list.eval(pl.element().replace_strict(keys, ids, return_dtype=pl.String))
        )
    )["keys"]


def with_body_languages(parsed: pl.DataFrame, *, by_function_words: bool = True) -> pl.DataFrame:
    """The language of each kept page's body, with the page's edition as the prior: what the
    article shows when this page holds its text. A body's language is decided on its opening,
    so bodies are told apart by edition and opening. An opening seen on pages of several
    editions is identified once per edition, with that edition's prior, as it would be on its
    own; all the others in one call, whose fixed cost is most of a small batch's.
    `by_function_words` is identify_languages' (the benchmark compares the two ways)."""
    kept = pl.col("status") == "ok"
    opening = pl.col("body").str.slice(0, ARTICLE_OPENING_CHARS).alias("opening")
    openings = (
        parsed.lazy()
        .filter(kept & pl.col("body").is_not_null())
        .select("edition", opening)
        .unique()
        .with_columns(editions=pl.len().over("opening"))
        .collect(engine=IN_MEMORY)
    )
    several = openings.filter(pl.col("editions") > 1)
    calls = [openings]
    if several.height:
        calls = [openings.filter(pl.col("editions") == 1)] + [group for _, group in several.group_by("edition")]
    found = [
        group.lazy()
        .join(
            identify_languages(
                group["opening"], kind="article", editions=group["edition"], by_function_words=by_function_words
            ).lazy(),
            left_on="opening",
            right_on="text",
        )
        .select(
            "edition",
            "opening",
            body_language=pl.col("language").fill_null("und"),
            body_language_score="language_score",
        )
        for group in calls
        if group.height
    ]
    schema = {"edition": pl.String, "opening": pl.String, "body_language": pl.String, "body_language_score": pl.Float64}
    languages = pl.concat(found) if found else pl.LazyFrame(schema=schema)
    # Joined on the keys alone: a join of the whole frame would copy every page's ticker and body.
    page_languages = (
        parsed.lazy()
        .select("edition", opening)
        .join(languages, on=["edition", "opening"], how="left", maintain_order="left")
        .collect(engine=IN_MEMORY)
    )
    return parsed.with_columns(
        body_language=pl.when(kept).then(page_languages["body_language"]),
        body_language_score=pl.when(kept).then(page_languages["body_language_score"]),
    )


def _parsed_batches(dump: Dump, editions, limits: ReadLimits, threads: int, files: DumpFiles) -> Iterator[pl.DataFrame]:
    """The dump's pages as partition-file rows, batch by batch, in order. A thread reads ahead
    and several batches are parsed at once (polars works outside the GIL), so that one dump
    keeps the cores busy. `files` is read_dump's."""

    def parse(records: pl.DataFrame) -> pl.DataFrame:
        parsed = parse_pages(records, editions)
        holds_ticker = pl.col("ticker_first_row") == pl.int_range(pl.len(), dtype=pl.UInt32)
        parsed = parsed.with_columns(
            ticker=pl.when(holds_ticker).then("ticker"), ticker_keys=pl.when(holds_ticker).then("ticker_keys")
        )
        return with_publish_columns(parsed).with_columns(dump_id=pl.lit(dump.dump_id))

    first_row = 0

    def partition_rows(parsed: pl.DataFrame) -> pl.DataFrame:
        nonlocal first_row
        rows = parsed.with_columns(ticker_group=pl.col("ticker_first_row").cast(pl.Int64) + first_row).select(
            list(PART_SCHEMA)
        )
        first_row += rows.height
        return rows

    threads = max(1, threads)
    # Parsing holds many times a batch's text: batches are parsed together only while their
    # text fits in threads * batch_bytes, so that pages near the page limit are parsed one by one.
    most_in_flight = threads * limits.batch_bytes
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="parse") as pool:
        in_flight: deque[tuple[Future, int]] = deque()
        for records in _read_ahead(read_dump(dump, editions, limits, files)):
            size = int(records["size_bytes"].filter(records["status"].is_null()).sum() or 0)
            while in_flight and (len(in_flight) == threads or sum(held for _, held in in_flight) + size > most_in_flight):
                yield partition_rows(in_flight.popleft()[0].result())
            in_flight.append((pool.submit(parse, records), size))
        while in_flight:
            yield partition_rows(in_flight.popleft()[0].result())


def _read_ahead(batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The batches, read by a thread up to _READ_AHEAD batches ahead; its errors are raised here."""
    ahead: queue.Queue = queue.Queue(maxsize=_READ_AHEAD)
    done = object()
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(done)
        except BaseException as error:  # handed to the consumer, raised in its thread
            put(error)

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def part_file_rows(path: Path) -> int:
    """The pages a partition file holds, from its footer."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
