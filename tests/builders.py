"""Builders of test pages, records and warehouses, shaped like the real ones."""

import base64
import os
import re
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from newsdesk.readers import DEFAULT_MAX_PAGE_BYTES, RECORD_SCHEMA
from newsdesk.transforms.editions import load_editions

REPOSITORY = Path(__file__).resolve().parents[1]  # the checkout the tests run in
REAL_PAGE = REPOSITORY / "samples" / "real" / "000_944c1d705c4b9ef0.txt"
TRUTH_FILE = REPOSITORY / "samples" / "truth.jsonl"


def messages(stderr: str) -> list[str]:
    """The lines of a command's stderr that are not its timestamped progress lines (printed
    when stderr is not a terminal)."""
    return [line for line in stderr.strip().splitlines() if not re.match(r"\d\d:\d\d:\d\d ", line)]


NBSP4 = "\u00a0" * 4

PUBLICATION = {
    "fr": "Publié dans {source} le {date}",
    "es": "Publicado en {source} el {date}",
    "ar": "نشر في {source} يوم {date}",
    "en": "Published in {source} on {date}",
}
FOOTER = {edition.code: edition.footer for edition in load_editions()}


def make_page(
    edition: str = "fr",
    title: str = "Un titre",
    source: str = "Le Matin",
    date: str = "05 - 03 - 2012",
    body: tuple[str, ...] = ("Premier paragraphe.", "Second paragraphe."),
    ticker: tuple[str, ...] = ("Titre un", "Titre deux"),
    footer: bool = True,
) -> str:
    lines = []
    if ticker:
        lines += ["".join(item + NBSP4 for item in ticker), "", ""]
    lines += [title, PUBLICATION[edition].format(source=source, date=date), "", *body, ""]
    if footer:
        lines.append(FOOTER[edition])
    return "\n".join(lines)


def records(*texts: str, **columns) -> pl.DataFrame:
    """A frame of decoded records, as the dump readers produce, for the given page texts."""
    n = len(texts)
    data = {name: [None] * n for name in RECORD_SCHEMA}
    data.update(page_id=[str(i) for i in range(1, n + 1)], text=list(texts), encoding=["utf-8"] * n)
    data.update(columns)
    return pl.DataFrame(data, schema=RECORD_SCHEMA)


def write_jsonl_dump(path, pages: int, variant: str = "") -> None:
    """A JSONL dump of distinct French pages sharing one ticker, like one crawl of the site."""
    import json

    ticker = tuple(f"Titre du fil {i} {variant}".strip() for i in range(48))
    with open(path, "w", encoding="utf-8") as out:
        for i in range(pages):
            text = make_page(title=f"Article {i} {variant}".strip(), body=(f"Corps de l'article {i}.",) * 5, ticker=ticker)
            out.write(json.dumps({"id": f"p{i}", "text": text}) + "\n")


def write_wet(path, records, compressed: bool = True) -> None:
    """A WET file written with warcio, as Common Crawl writes them (one gzip member per record
    when compressed): records are (WARC-Type, WARC-Record-ID, WARC-Target-URI, WARC-Date, bytes)."""
    import io

    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=compressed)
        for kind, record_id, url, crawled, data in records:
            headers = {"WARC-Record-ID": record_id, "WARC-Date": crawled}
            writer.write_record(writer.create_warc_record(
                url, kind, payload=io.BytesIO(data), length=len(data), warc_headers_dict=headers,
                warc_content_type="text/plain" if kind == "conversion" else "application/warc-fields",
            ))


def wet_pages(count: int, text=lambda i: make_page(title=f"Article {i}")) -> list[tuple]:
    """A warcinfo record, then count conversion records of pages: the records of write_wet."""
    info = ("warcinfo", "<urn:uuid:info>", None, "2026-01-05T00:00:00Z", b"isPartOf: CC-MAIN-2026-02\r\n")
    return [info] + [
        ("conversion", f"<urn:uuid:{i}>", f"https://www.maghress.com/fr/{i}", "2026-01-07T23:59:59Z", text(i).encode())
        for i in range(count)
    ]


def out_of_page_cache(*paths: Path) -> None:
    """Drop every file under paths from the page cache, as the kernel drops what was not read
    for a while (synced first: only clean pages can be dropped)."""
    os.sync()
    for path in paths:
        for root, _, names in os.walk(path):
            for name in names:
                descriptor = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(descriptor)


def run_here(dumps, warehouse, workers: int = 1, progress=lambda progress: None):
    """`newsdesk run` without the command line: the runner, in this process, on the instance
    of $DAGSTER_HOME (the definitions' settings must already point at dumps and warehouse)."""
    import dagster as dg

    from newsdesk.warehouse import Warehouse
    from orchestration.runner import run_pipeline

    with dg.DagsterInstance.get() as instance:
        return run_pipeline(dumps, Warehouse(str(warehouse)), instance, workers=workers, progress=progress)


# The shapes of input that once made a dump's memory or time follow its content instead of its
# limits: many pages just under the page limit in a zip, a .jsonl.gz, a WET or a Parquet file (which
# compress a thousandfold), and compressed garbage that expands to millions of lines.
BOMB_SHAPES = (
    "zip", "jsonl.gz", "warc.wet.gz", "parquet", "parquet-over-limit", "parquet-dictionary", "parquet-repeated",
    "parquet-one-row-group", "gzip-newlines", "gzip-garbage-lines",
)


def write_bomb(folder, shape: str, pages: int = 100, page_bytes: int = DEFAULT_MAX_PAGE_BYTES - 4096, titles: str = "Article"):
    """A dump of the given shape in folder; returns its path. Pages are real page layouts whose
    body repeats one paragraph up to page_bytes, just under the page limit (30 MB, over it, for
    parquet-over-limit). parquet-dictionary holds them distinct in one row group whose
    dictionary page holds them all, which a reader must decode whole; parquet-repeated holds
    one of them on 200 times as many rows of a string column, through its dictionary page (a
    thousand times the file's size once written out). parquet-one-row-group holds 50,000 pages of
    20 KB (1 GB) in one row group, as pandas and pyarrow write up to a million rows."""
    import gzip
    import json
    import zipfile
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size = 30_000_000 if shape == "parquet-over-limit" else page_bytes
    paragraph = "Le Raja de Casablanca remporte le derby face au Wydad devant un stade plein. "
    head = make_page(body=())

    def page(i: int) -> str:
        body = paragraph * ((size - len(head.encode()) - 40) // len(paragraph))
        return make_page(title=f"{titles} {i}", body=(body,))

    if shape == "zip":
        path = folder / "bomb.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for i in range(pages):
                archive.writestr(f"p{i}.txt", page(i))
    elif shape == "jsonl.gz":
        path = folder / "bomb.jsonl.gz"
        with gzip.open(path, "wt", compresslevel=1, encoding="utf-8") as out:
            for i in range(pages):
                out.write(json.dumps({"id": f"p{i}", "text": page(i)}, ensure_ascii=False) + "\n")
    elif shape == "warc.wet.gz":
        path = folder / "bomb.warc.wet.gz"
        write_wet(path, wet_pages(pages, page))
    elif shape in ("parquet", "parquet-over-limit"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "bomb.parquet"
        with pq.ParquetWriter(path, pa.schema({"id": pa.string(), "text": pa.string()}), compression="zstd") as writer:
            for i in range(pages):
                writer.write_table(pa.table({"id": [f"p{i}"], "text": [page(i)]}))
    elif shape == "parquet-dictionary":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "bomb.parquet"
        texts = pa.table({"id": [f"p{i}" for i in range(pages)], "text": [page(i) for i in range(pages)]})
        pq.write_table(texts, path, compression="zstd", dictionary_pagesize_limit=2**31 - 1)
    elif shape == "parquet-one-row-group":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "bomb.parquet"
        # Pages of the corpus's size, each body ending with 400 random letters, so that the
        # file compresses like real pages (a few times, not past max_expansion).
        repeated = paragraph * 260
        texts = [
            make_page(title=f"{titles} {i}", body=(repeated, base64.b64encode(os.urandom(300)).decode()))
            for i in range(50_000)
        ]
        pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(texts))], "text": texts}), path, compression="zstd")
    elif shape == "parquet-repeated":
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "bomb.parquet"
        repeated = pa.DictionaryArray.from_arrays(pa.array(np.zeros(200 * pages, dtype=np.int32)), pa.array([page(0)]))
        # Without the Arrow schema a reader sees a plain string column, not a categorical.
        pq.write_table(pa.table({"text": repeated}), path, compression="zstd", store_schema=False)
    elif shape == "gzip-newlines":
        path = folder / "bomb.jsonl.gz"
        with gzip.open(path, "wb", compresslevel=9) as out:
            for _ in range(200):
                out.write(b"\n" * (1 << 20))
    elif shape == "gzip-garbage-lines":
        path = folder / "bomb.jsonl.gz"
        with gzip.open(path, "wb", compresslevel=9) as out:
            out.write(b"x\n" * 2_000_000)
    else:
        raise ValueError(f"unknown shape {shape!r}; one of {BOMB_SHAPES}")
    return path


_PARSE_AND_REPORT = """
import sys, time
from pathlib import Path
from newsdesk.parsing import write_parsed_dump
from newsdesk.readers import discover_dumps
[dump] = discover_dumps(Path(sys.argv[1])).dumps
started = time.perf_counter()
report = write_parsed_dump(dump, Path(sys.argv[2]))
measured = {"seconds": time.perf_counter() - started, "by_status": dict(report.by_status)}
"""

# VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still counts the parent's peak (the test
# process's own, which building a bomb raises to gigabytes).
_REPORT_PEAK = """
import json
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({**measured, "peak_rss_mb": peak_kb / 1024}))
"""


def measure_in_a_fresh_process(script: str, *arguments) -> dict:
    """Runs script (which leaves its figures in a dict `measured`) in a Python process of its
    own with the arguments: its figures and its peak resident memory (MB)."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", script + _REPORT_PEAK, *map(str, arguments)],
        cwd=REPOSITORY, capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def parse_in_a_fresh_process(dumps_folder, target) -> dict:
    """write_parsed_dump of the one dump in dumps_folder, in a process of its own, with the
    default limits: its seconds, rows by status and peak resident memory (MB)."""
    return measure_in_a_fresh_process(_PARSE_AND_REPORT, dumps_folder, target)


def read_warehouse(path):
    """A read-only connection to the warehouse at path, as `newsdesk sql` opens it."""
    from newsdesk.warehouse import Warehouse

    return Warehouse(str(path)).reader()


@contextmanager
def written_warehouse(path):
    """A connection that writes the warehouse at path, its tables and views created: what the
    block does is committed as one snapshot when it ends."""
    from newsdesk.warehouse import Warehouse, create_tables, create_views

    with Warehouse(str(path)).writer() as connection:
        connection.execute("BEGIN TRANSACTION")
        create_tables(connection)
        create_views(connection)
        yield connection
        connection.execute("COMMIT")


def copy_warehouse(source, target) -> None:
    """A copy of the warehouse whose catalog is source, at target: catalog (with its SQLite
    journal files), data files and partition files."""
    import shutil
    from pathlib import Path

    from newsdesk.warehouse import Warehouse

    source, target = Warehouse(str(source)), Warehouse(str(target))
    for file in source.file.parent.glob(source.file.name + "*"):
        if not file.name.endswith(".lock"):
            shutil.copy2(file, target.file.with_name(target.file.name + file.name[len(source.file.name):]))
    for folder, copy in ((source.data_dir, target.data_dir), (source.parts_dir, target.parts_dir)):
        if folder.exists():
            shutil.copytree(folder, copy)
