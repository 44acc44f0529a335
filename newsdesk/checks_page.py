"""The checks page of a warehouse: the latest result of every check, on one HTML page that
works offline, next to the warehouse.

Each check is named as Dagster and `newsdesk run` name it (`table: check`, ERROR or WARN),
and has an anchor (`#table.check`) that its Dagster result links to; a failed check shows
its counts and failing samples. The page keeps one result per check (results.json beside it),
so it stays the same size however many runs a warehouse sees; the history of every result is
in the Dagster instance. The publish's audit and the checks after its commit each record the
checks they ran, under a lock.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from newsdesk.files import durable_write
from newsdesk.gx_suites import ExpectationOutcome, SuiteRun, outcome_summary
from newsdesk.suites import Suite, SuiteExpectation

RESULTS_FILE = "results.json"


def check_anchor(expectation: SuiteExpectation) -> str:
    return f"{expectation.asset}.{expectation.check}"


def record_check_results(page: Path, runs: Iterable[SuiteRun], suites: list[Suite], scope: str, run_id: str) -> None:
    """Keep these runs' outcomes as the latest of their checks, and rewrite the page listing
    every check of `suites`. `scope` says which rows were validated."""
    from filelock import FileLock

    validated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    folder = page.parent
    folder.mkdir(parents=True, exist_ok=True)
    # Named like the warehouse's own lock files, not hidden: what is hidden is half-written.
    with FileLock(str(folder / f"{RESULTS_FILE}.lock")):
        results_path = folder / RESULTS_FILE
        results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
        for run in runs:
            for outcome in run.outcomes:
                results[check_anchor(outcome.expectation)] = _as_record(outcome, run, scope, run_id, validated)
        known = {check_anchor(e) for suite in suites for e in suite.expectations}
        results = {anchor: record for anchor, record in results.items() if anchor in known}  # checks since removed go
        with durable_write(results_path) as temporary:
            temporary.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        with durable_write(page) as temporary:
            temporary.write_text(checks_page_html(suites, results), encoding="utf-8")


def _as_record(outcome: ExpectationOutcome, run: SuiteRun, scope: str, run_id: str, validated: str) -> dict:
    return {
        "passed": outcome.passed,
        "error": outcome.error,
        "summary": outcome_summary(outcome),
        "samples": outcome.samples,
        "observed_value": outcome.observed_value,
        "rows": run.rows,
        "scope": scope,
        "run_id": run_id,
        "validated": validated,
    }


def checks_page_html(suites: list[Suite], results: dict[str, dict]) -> str:
    expectations = [(suite, e) for suite in suites for e in suite.expectations]
    failed = [e for _, e in expectations if not results.get(check_anchor(e), {}).get("passed", True)]
    ran = sum(check_anchor(e) in results for _, e in expectations)
    passed = ran - len(failed)
    headline = f"{passed} of {ran} checks passed" + (f"; {len(expectations) - ran} not run yet" if ran < len(expectations) else "")
    failing = "".join(
        f'<li><a href="#{_attribute(check_anchor(e))}">{html.escape(_name(e))}</a> ({e.level})</li>' for e in failed
    )
    rows = "".join(_row(suite, e, results.get(check_anchor(e))) for suite, e in expectations)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>newsdesk checks</title><style>"
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;"
        "text-align:left;vertical-align:top}tr:target{background:#fff6d5}.passed{color:#1a7f37}"
        ".failed{color:#cf222e;font-weight:bold}.not-run{color:#888}code,pre{font-size:.85em}"
        "pre{white-space:pre-wrap;max-width:40em}</style></head><body>"
        f"<h1>newsdesk checks</h1><p>{html.escape(headline)}. ERROR checks are part of the publish: when one "
        "fails, nothing is committed. WARN checks run after the commit and report. Each check is defined "
        "in a suite file of <code>expectations/</code>; its history is in the Dagster UI.</p>"
        + (f"<h2>Failed</h2><ul>{failing}</ul>" if failing else "")
        + "<h2>Every check</h2><table><tr><th>check</th><th>level</th><th>result</th><th>samples</th>"
        f"<th>validated</th></tr>{rows}</table></body></html>"
    )


def _name(expectation: SuiteExpectation) -> str:
    return f"{expectation.asset}: {expectation.check}"


def _row(suite: Suite, expectation: SuiteExpectation, record: dict | None) -> str:
    if record is None:
        result, samples, validated = '<span class="not-run">not run yet</span>', "", ""
    else:
        status = "passed" if record["passed"] else "failed"
        result = f'<span class="{status}">{status}</span>: {html.escape(record["summary"])}'
        shown = [*record["samples"]]
        if record["observed_value"] is not None:
            shown.insert(0, {"observed": record["observed_value"]})
        samples = "<pre>" + html.escape("\n".join(json.dumps(s, ensure_ascii=False) for s in shown)) + "</pre>" if shown else ""
        rows = "its query failed" if record["rows"] is None else f"{record['rows']:,} rows"
        validated = html.escape(f"{record['validated']}, {rows} ({record['scope']}), run {record['run_id'][:8]}")
    definition = (
        f"<details><summary>{html.escape(expectation.description)}</summary>suite <code>{html.escape(suite.path.name)}"
        f"</code>, <code>{html.escape(expectation.type)}</code><pre>{html.escape(suite.query)}</pre></details>"
    )
    return (
        f'<tr id="{_attribute(check_anchor(expectation))}"><td><b>{html.escape(_name(expectation))}</b>{definition}</td>'
        f"<td>{expectation.level}</td><td>{result}</td><td>{samples}</td><td>{validated}</td></tr>"
    )


def _attribute(text: str) -> str:
    return html.escape(text, quote=True)
