"""Pages per second of the WET reader against the folder reader, on the same pages.

    .venv/bin/python -m benchmarks.bench_readers [--pages 50000] [--edition fr]

Generates one dump of realistic pages with bench_pipeline's generator (a folder of .txt), writes
the same pages as a Common Crawl WET file (warcio, one gzip member per record) and as an
uncompressed one, then times:

- the `cat` floor: every page file of the folder read to /dev/null;
- newsdesk's reader (read_dump: reading and decoding, no parsing) on each of the three dumps;
- the two maintained WARC libraries iterating the .gz file's conversion records and reading
  their text: FastWARC (what newsdesk uses) and warcio;
- `cat` and the folder reader again with the folder's files out of the page cache (dropped
  with posix_fadvise before each run, as the kernel drops what was not read for a while):
  what a dump costs when it comes from the disk.

Each figure is the best of three runs, after one warm-up run that fills the page cache.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

from benchmarks.bench_pipeline import _spec, generate_dump
from tests.builders import out_of_page_cache, write_wet


def _best_of_three(measure, before_each=lambda: None) -> tuple[float, int]:
    measure()  # warm-up: the page cache, imports
    runs = []
    for _ in range(3):
        before_each()
        runs.append(_timed(measure))
    return min(runs)


def _timed(measure) -> tuple[float, int]:
    started = time.perf_counter()
    count = measure()
    return time.perf_counter() - started, count


def write_wet_of_folder(folder: Path, target: Path, compressed: bool) -> None:
    """The folder's pages as conversion records of a WET file (tests/builders.write_wet)."""
    records = (
        ("conversion", f"<urn:uuid:00000000-0000-4000-8000-{number:012d}>",
         f"https://www.maghress.com/fr/{path.relative_to(folder).with_suffix('')}", "2026-02-25T10:17:42Z",
         path.read_bytes())
        for number, path in enumerate(sorted(folder.rglob("*.txt")))
    )
    write_wet(target, records, compressed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50_000, help="pages in the dump (default 50,000)")
    parser.add_argument("--edition", default="fr", choices=["fr", "ar", "es", "en"])
    args = parser.parse_args()

    from newsdesk.readers import discover_dumps, read_dump
    from newsdesk.transforms.editions import load_editions

    editions = load_editions()
    with tempfile.TemporaryDirectory() as work:
        dumps = Path(work) / "dumps"
        dumps.mkdir()
        spec = _spec(0, args.pages, "folder", edition=args.edition)
        text_bytes = generate_dump((spec, None, 20261204, str(dumps)))
        folder = dumps / spec.entry
        for compressed in (True, False):
            suffix = ".warc.wet.gz" if compressed else ".warc.wet"
            write_wet_of_folder(folder, dumps / f"{spec.name}-{suffix[1:].replace('.', '-')}{suffix}", compressed)
        print(f"{args.pages:,} {args.edition} pages, {text_bytes / 1e6:.0f} MB of page text")
        print(f"{'what':42} {'seconds':>8} {'pages/s':>10} {'MB/s':>7}")

        def report(what: str, seconds: float, pages: int) -> None:
            print(f"{what:42} {seconds:>8.2f} {pages / seconds:>10,.0f} {text_bytes / 1e6 / seconds:>7.0f}")

        def cat() -> int:
            files = [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]
            for path in files:
                with open(path, "rb") as file:
                    file.read()
            return len(files)

        report("cat floor (folder files to /dev/null)", *_best_of_three(cat))
        for dump in discover_dumps(dumps).dumps:
            size = dump.path.stat().st_size if dump.format != "folder" else text_bytes
            what = f"read_dump {dump.format} ({size / 1e6:.0f} MB on disk)"
            report(what, *_best_of_three(lambda dump=dump: sum(batch.height for batch in read_dump(dump, editions))))

        wet = dumps / f"{spec.name}-warc-wet-gz.warc.wet.gz"

        def fastwarc() -> int:
            from fastwarc.warc import ArchiveIterator, WarcRecordType

            pages = 0
            with open(wet, "rb") as file:
                for record in ArchiveIterator(file, record_types=WarcRecordType.conversion, parse_http=False):
                    record.headers.get("WARC-Record-ID"), record.reader.read()
                    pages += 1
            return pages

        def warcio() -> int:
            from warcio.archiveiterator import ArchiveIterator

            pages = 0
            with open(wet, "rb") as file:
                for record in ArchiveIterator(file):
                    if record.rec_type == "conversion":
                        record.rec_headers.get_header("WARC-Record-ID"), record.content_stream().read()
                        pages += 1
            return pages

        report("FastWARC, conversion records of the .gz", *_best_of_three(fastwarc))
        report("warcio, conversion records of the .gz", *_best_of_three(warcio))

        [folder_dump] = [dump for dump in discover_dumps(dumps).dumps if dump.format == "folder"]
        evict = functools.partial(out_of_page_cache, folder)
        report("cat floor, files not in the page cache", *_best_of_three(cat, evict))
        report("read_dump folder, files not in the page cache",
               *_best_of_three(lambda: sum(batch.height for batch in read_dump(folder_dump, editions)), evict))


if __name__ == "__main__":
    main()
