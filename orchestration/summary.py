"""What `newsdesk run` prints: per dump, pages kept and rejected by reason; the totals."""

from __future__ import annotations

import sys

from orchestration.pipeline import PipelineOutcome
from orchestration.resources import Warehouse, WarehouseUnavailable


def print_summary(outcome: PipelineOutcome, out=sys.stdout) -> None:
    for name, reason in outcome.skipped:
        print(f"skipped {name}: {reason}", file=out)
    for dump_id in outcome.removed:
        print(f"removed {dump_id}: no longer in the dumps folder, its rows left the warehouse", file=out)
    try:
        with Warehouse(path=str(outcome.warehouse)).reader() as connection:
            per_dump = connection.execute(
                """
                WITH by_status AS (SELECT dump_id, status, count(*) AS n FROM pages GROUP BY ALL)
                SELECT dump_id,
                       coalesce(sum(n) FILTER (status = 'ok'), 0) AS kept,
                       coalesce(sum(n) FILTER (status <> 'ok'), 0) AS rejected,
                       coalesce(string_agg(status || ' ' || n, ', ' ORDER BY n DESC, status)
                                FILTER (status <> 'ok'), '') AS reasons
                FROM by_status GROUP BY dump_id ORDER BY dump_id
                """
            ).fetchall()
            totals = connection.execute(
                "SELECT (SELECT count(*) FROM pages), (SELECT count(*) FROM articles), "
                "(SELECT count(*) FROM headlines), (SELECT count(*) FROM headline_sightings), "
                "(SELECT count(DISTINCT cluster_id) FROM headline_clusters)"
            ).fetchone()
    except WarehouseUnavailable as error:
        print(f"warehouse not readable: {error}", file=out)
        per_dump, totals = [], None
    if per_dump:
        width = max(len("dump"), *(len(row[0]) for row in per_dump))
        print(f"{'dump':<{width}}  {'kept':>6}  {'rejected':>8}  reasons", file=out)
        for dump_id, kept, rejected, reasons in per_dump:
            print(f"{dump_id:<{width}}  {kept:>6}  {rejected:>8}  {reasons}", file=out)
    if totals:
        pages, articles, headlines, sightings, clusters = totals
        print(
            f"\n{pages} pages, {articles} distinct articles, {headlines} distinct headlines "
            f"({sightings} ticker sightings, {clusters} near-duplicate clusters)",
            file=out,
        )
    print(f"warehouse: {outcome.warehouse}", file=out)
    for step, error in outcome.failures.items():
        print(f"FAILED {step}: {error}", file=out)
    if outcome.failures:
        print("the full error of each failed step is in the run's logs: `newsdesk ui`, then Runs", file=out)
