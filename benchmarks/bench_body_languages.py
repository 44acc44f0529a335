"""Article (body) languages of a corpus's pages: this checkout against the code of another commit.

    .venv/bin/python -m benchmarks.bench_body_languages PARTS [--against REV] [--rounds 2]

PARTS is a folder of partition files: the `<name>.parts/` beside a warehouse that `newsdesk run`
built, or the one `bench_pipeline.py --keep` leaves. Each round times `with_body_languages`, as
the parse calls it, on every page of them (as many a batch as that code's reader puts in one),
with this checkout's code and with the code of REV, each in a process of its own (the two
packages share their names), the two alternating; then it counts the pages whose language the
two codes tell apart, and the bodies of benchmarks/eval/article_languages.jsonl likewise. REV's
tree comes from `git archive`.

The default REV is the code issue #19 counts from ("article language at 4x today's rate with
the same answers"): the parent of 9900941, the last commit that asked the model about every
article opening. Scores differ where the function words decide (their share, not the model's
probability); the languages are what must not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL_ARTICLES = ROOT / "benchmarks" / "eval" / "article_languages.jsonl"
ISSUE_BASELINE = "9900941^"
PART_COLUMNS = ["dump_id", "page_id", "status", "edition", "body"]


def child(code: Path, parts: Path, out: Path) -> None:
    """In a process of its own: the languages `code` gives every page of `parts` and every eval
    body, written to `out`, and the seconds they took, printed as JSON."""
    sys.path.insert(0, str(code))
    import polars as pl
    import pyarrow.parquet as pq

    import newsdesk.parsing
    from newsdesk.parsing import with_body_languages
    from newsdesk.readers import ReadLimits
    from newsdesk.transforms.language import identify_languages

    if not Path(newsdesk.parsing.__file__).is_relative_to(code):
        raise RuntimeError(f"newsdesk was imported from {newsdesk.parsing.__file__}, not from {code}")

    wall = cpu = 0.0
    pages = []
    for path in sorted(parts.glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=ReadLimits().batch_pages, columns=PART_COLUMNS):
            frame = pl.from_arrow(batch)
            started, started_cpu = time.perf_counter(), time.process_time()
            found = with_body_languages(frame)
            wall += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            pages.append(found.select("dump_id", "page_id", "body_language"))
    pl.concat(pages).write_parquet(out / "pages.parquet")
    bodies = pl.read_ndjson(EVAL_ARTICLES)["text"]
    identify_languages(bodies, "article").write_parquet(out / "eval.parquet")
    print(json.dumps({"seconds": wall, "cpu_seconds": cpu}))


def timed(code: Path, parts: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # Run as a script, so that only `code` holds a newsdesk package on the child's path.
    command = [sys.executable, __file__, "--child", str(code), str(parts), str(out)]
    result = subprocess.run(command, cwd=code, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def differing(ours: Path, theirs: Path) -> tuple[int, int, int, int]:
    """Pages with a body language, and how many of them the two answers differ on; the same
    for the eval bodies."""
    import polars as pl

    pages = pl.read_parquet(ours / "pages.parquet").join(
        pl.read_parquet(theirs / "pages.parquet"), on=["dump_id", "page_id"], how="full", suffix="_theirs", nulls_equal=True
    )
    kept = pages.filter(pl.col("body_language").is_not_null() | pl.col("body_language_theirs").is_not_null())
    pages_differing = kept.filter(pl.col("body_language").ne_missing(pl.col("body_language_theirs"))).height
    evals = pl.read_parquet(ours / "eval.parquet").join(pl.read_parquet(theirs / "eval.parquet"), on="text", suffix="_theirs")
    eval_differing = evals.filter(pl.col("language") != pl.col("language_theirs")).height
    return kept.height, pages_differing, evals.height, eval_differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", type=Path, help="a folder of partition files")
    parser.add_argument("--against", default=ISSUE_BASELINE, help=f"the commit to compare with (default {ISSUE_BASELINE})")
    parser.add_argument("--rounds", type=int, default=2, help="times each code runs, alternating (default 2)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("out", type=Path, nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.parts, args.out)
        return
    if not any(args.parts.glob("*.parquet")):
        parser.error(f"{args.parts} holds no partition files (*.parquet)")
    with tempfile.TemporaryDirectory(prefix="bench-body-languages-") as work:
        theirs_code = Path(work) / "code"
        theirs_code.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(theirs_code)], input=archive.stdout, check=True)
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(ROOT, args.parts, Path(work) / "ours"))
            theirs.append(timed(theirs_code, args.parts, Path(work) / "theirs"))
        for code, runs in (("this checkout", ours), (args.against, theirs)):
            seconds = ", ".join(f"{run['seconds']:.1f} s ({run['cpu_seconds']:.1f} s of CPU)" for run in runs)
            print(f"{code}: {seconds}")
        print(f"rate: {min(run['seconds'] for run in theirs) / max(run['seconds'] for run in ours):.1f} to "
              f"{max(run['seconds'] for run in theirs) / min(run['seconds'] for run in ours):.1f} times {args.against}'s")
        bodies, pages_differing, eval_bodies, eval_differing = differing(Path(work) / "ours", Path(work) / "theirs")
        print(f"languages that differ: {pages_differing} of {bodies:,} bodies; {eval_differing} of {eval_bodies} eval bodies")


if __name__ == "__main__":
    main()
