"""What `newsdesk run` prints: per dump, pages kept and rejected by reason; the totals."""

from __future__ import annotations

import sys
from collections import defaultdict

from orchestration.runner import RunOutcome


def print_summary(outcome: RunOutcome, out=sys.stdout) -> None:
    for name, reason in outcome.skipped:
        print(f"skipped {name}: {reason}", file=out)
    if outcome.unchanged:
        print(f"{len(outcome.unchanged)} dumps unchanged since their last parse: not parsed again", file=out)
    for dump_id in outcome.removed:
        print(f"removed {dump_id}: no longer in the dumps folder, its rows left the warehouse", file=out)
    if outcome.contents is not None:
        _print_dumps(outcome.contents.pages_by_dump, out)
        count = outcome.contents.row_counts
        print(
            f"\n{count['pages']:,} pages, {count['articles']:,} distinct articles, {count['headlines']:,} distinct "
            f"headlines ({count['headline_sightings']:,} ticker sightings, "
            f"{outcome.contents.clusters:,} near-duplicate clusters)",
            file=out,
        )
    snapshot = f" (snapshot {outcome.snapshot}: `newsdesk snapshots` lists them)" if outcome.snapshot is not None else ""
    print(f"warehouse: {outcome.warehouse}{snapshot}", file=out)
    if not outcome.published:
        print(
            "nothing changed since that snapshot: not published again, and its checks and report stand "
            "(--always-publish publishes, checks and reports anyway)",
            file=out,
        )
        if outcome.checks_page:
            print(f"checks: {outcome.checks_page}", file=out)
    if outcome.checks_run:
        passed = outcome.checks_run - len(outcome.failed_checks)
        print(f"checks: {passed} of {outcome.checks_run} passed; results: {outcome.checks_page}", file=out)
        for check in outcome.failed_checks:
            print(f"  failed {check}", file=out)
    if outcome.report:
        print(f"report: {outcome.report}", file=out)
    for step, error in outcome.failures.items():
        print(f"FAILED {step}: {error}", file=out)
    if outcome.failures:
        print("the full error of each failed step is in the run's logs: `newsdesk ui`, then Runs", file=out)


def _print_dumps(rows: list[tuple[str, str, int]], out) -> None:
    kept: dict[str, int] = defaultdict(int)
    rejected: dict[str, dict[str, int]] = defaultdict(dict)
    for dump_id, status, count in rows:
        if status == "ok":
            kept[dump_id] = count
        else:
            rejected[dump_id][status] = count
    dumps = sorted(kept.keys() | rejected.keys())
    if not dumps:
        print("no pages: the dumps folder holds no dump", file=out)
        return
    width = max(len("dump"), *(len(dump_id) for dump_id in dumps))
    print(f"{'dump':<{width}}  {'kept':>7}  {'rejected':>8}  reasons", file=out)
    for dump_id in dumps:
        reasons = sorted(rejected[dump_id].items(), key=lambda item: (-item[1], item[0]))
        shown = ", ".join(f"{status} {count:,}" for status, count in reasons)
        print(f"{dump_id:<{width}}  {kept[dump_id]:>7,}  {sum(rejected[dump_id].values()):>8,}  {shown}", file=out)
