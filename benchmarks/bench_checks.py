"""How long and how much memory every Great Expectations suite takes on a large warehouse.

Builds a synthetic warehouse with DuckDB SQL (generate_series) — by default 1,000,000
articles, 1,050,000 pages (5% rejected), 200,000 headlines and 48 ticker sightings per page,
the shape of the real crawls — then runs all suites of expectations/ through the same code
the Dagster checks use (newsdesk.gx_suites.run_suites, the checks page included) and prints
the time per suite, the total and the peak memory. The target: all suites in <= 60 s with
<= 2 GB of extra memory.

    .venv/bin/python benchmarks/bench_checks.py                  # 1M articles, in a temp folder
    .venv/bin/python benchmarks/bench_checks.py --articles 100000 --keep /tmp/bench

The warehouse is built in a child process, so the peak memory reported is the checks' own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Rates of the synthetic data: mostly clean, with a few of every defect the suites look for.
BUILD_SQL = """
CREATE TABLE numbers AS SELECT range AS i FROM range($pages);

INSERT INTO pages
SELECT
    'bench-' || (i % $dumps)::VARCHAR AS dump_id,
    'page-' || i::VARCHAR AS page_id,
    DATE '2026-01-01' - CAST(i % $dumps AS INTEGER) AS crawl_date,
    CASE WHEN i < $articles THEN 'ok'
         ELSE ['empty', 'binary', 'encoding', 'no_publication_line', 'bad_record'][1 + i % 5] END AS status,
    CASE WHEN i < $articles THEN ['fr', 'es', 'ar', 'en'][1 + i % 4] END AS edition,
    CASE WHEN i < $articles THEN 'Source ' || (i % 300)::VARCHAR END AS source,
    CASE WHEN i < $articles THEN 'Titre de l''article numéro ' || i::VARCHAR || ' sur l''actualité du jour' END AS title,
    CASE WHEN i < $articles THEN strftime(published_date, '%d - %m - %Y') END AS published_raw,
    CASE WHEN i < $articles THEN published_date END AS published_date,
    CASE WHEN i < $articles THEN substr(md5(i::VARCHAR), 1, 16) END AS article_id,
    'https://example.org/' || i::VARCHAR AS url, 'utf-8' AS encoding, 2000 + i % 5000 AS size_bytes,
    NULL AS detail
FROM (
    SELECT i, CASE
        WHEN i % 200 = 0 THEN NULL                                     -- 0.5% unparsed
        WHEN i % 100003 = 1 THEN DATE '1970-01-01'                     -- a few sentinels
        WHEN i % 100003 = 2 THEN DATE '1445-06-01'                     -- a few Hijri years
        WHEN i % 100003 = 3 THEN DATE '2026-01-01' - CAST(i % $dumps AS INTEGER) + 30  -- a few in the future
        ELSE DATE '2026-01-01' - CAST(i % $dumps AS INTEGER) - CAST(i % 7000 AS INTEGER)
    END AS published_date
    FROM numbers
);

INSERT INTO articles BY NAME
SELECT article_id, edition, source, title, published_raw, published_date,
       'Corps de l''article ' || page_id || '. ' || repeat('Lorem ipsum dolor sit amet. ', 4) AS body,
       CASE WHEN hash(page_id) % 10 < 7 THEN edition WHEN hash(page_id) % 10 < 9 THEN 'und' ELSE 'fr' END AS language,
       0.9 AS language_score, crawl_date AS first_seen, crawl_date AS last_seen, 1 AS sightings
FROM pages WHERE status = 'ok';

INSERT INTO headlines BY NAME
SELECT substr(md5('h' || range::VARCHAR), 1, 16) AS headline_id,
       'Titre du ticker numéro ' || range::VARCHAR || ' : les nouvelles du jour' AS text,
       CASE WHEN range % 10 < 8 THEN ['fr', 'es', 'ar', 'en'][1 + range % 4] ELSE 'und' END AS language,
       0.9 AS language_score, DATE '2025-01-01' AS first_seen, DATE '2026-01-01' AS last_seen, 48 AS sightings
FROM range($headlines);

-- A ticker is the same on every page of a crawl; dumps mix editions, as the real ones do.
INSERT INTO headline_sightings
SELECT p.dump_id, p.page_id, t.position::INTEGER,
       substr(md5('h' || ((CAST(regexp_extract(p.dump_id, '\\d+') AS BIGINT) * 997 + t.position * 131) % $headlines)::VARCHAR), 1, 16)
FROM pages AS p, range(1, $ticker + 1) AS t(position);

-- The publish's summary of the sightings per dump, headline and page edition, which the
-- headline_editions suite reads.
INSERT INTO meta.dump_headlines BY NAME
SELECT s.dump_id, s.headline_id, p.edition, min(h.text) AS spelling,
       min(p.crawl_date) AS first_seen, max(p.crawl_date) AS last_seen, count(*) AS sightings
FROM headline_sightings AS s
JOIN pages AS p USING (dump_id, page_id)
JOIN headlines AS h USING (headline_id)
GROUP BY s.dump_id, s.headline_id, p.edition;

INSERT INTO headline_clusters
SELECT headline_id, 'c' || (hash(headline_id) % 1000)::VARCHAR FROM headlines USING SAMPLE 2%;

DROP TABLE numbers;
"""


def build_warehouse(path: Path, articles: int, ticker: int) -> None:
    from newsdesk.sql import run_script
    from newsdesk.warehouse import Warehouse, create_tables

    pages = articles + articles // 20
    parameters = {
        "pages": pages,
        "articles": articles,
        "dumps": 100,
        "headlines": max(articles // 5, 100),
        "ticker": ticker,
    }
    with Warehouse(str(path)).writer() as connection:
        connection.execute("BEGIN TRANSACTION")
        create_tables(connection)
        run_script(connection, BUILD_SQL, **parameters)
        connection.execute("COMMIT")


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--ticker", type=int, default=48, help="sightings per page (default: 48)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the warehouse in this folder and keep it")
    args = parser.parse_args(argv)

    if args.keep is None:
        with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as folder:
            return _bench(Path(folder), args)
    args.keep.mkdir(parents=True, exist_ok=True)
    return _bench(args.keep, args)


def _bench(folder: Path, args: argparse.Namespace) -> int:
    warehouse_file = folder / f"bench_{args.articles}.ducklake"
    if not warehouse_file.exists():
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(
            target=build_warehouse, args=(warehouse_file, args.articles, args.ticker)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            print("building the warehouse failed", file=sys.stderr)
            return 1
        print(f"built {warehouse_file} ({warehouse_file.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - started:.1f} s")

    from newsdesk.checks_page import record_check_results
    from newsdesk.gx_suites import run_suites
    from newsdesk.warehouse import Warehouse
    from newsdesk.suites import load_suites

    warehouse = Warehouse(path=str(warehouse_file))
    with warehouse.reader() as connection:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("pages", "articles", "headlines", "headline_sightings")
        }
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))

    suites = load_suites()
    baseline_mb = _rss_mb()
    started = time.perf_counter()
    runs = run_suites(suites, warehouse.reader, run_name="bench", all_rows=True)
    record_check_results(folder / "checks" / "index.html", runs, suites, "every row", "bench")
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux

    for run in runs:
        failed = [o.expectation.check for o in run.outcomes if not o.passed]
        print(f"  {run.suite.name:<20} {run.rows or 0:>10,} rows  {run.seconds:6.1f} s  failing: {', '.join(failed) or '-'}")
        for outcome in run.outcomes:
            if outcome.error:
                print(f"      {outcome.expectation.check}: {outcome.error}")
    extra_mb = peak_mb - baseline_mb
    print(f"all suites, Great Expectations import and the checks page included: {total:.1f} s")
    print(f"peak RSS {peak_mb:,.0f} MB, {extra_mb:,.0f} MB over the {baseline_mb:,.0f} MB before the checks")
    ok = total <= 60 and extra_mb <= 2048
    print("within the budget (60 s, 2 GB)" if ok else "OVER the budget (60 s, 2 GB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
