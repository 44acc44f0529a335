"""Great Expectations suites (expectations/) run as Dagster asset checks on the warehouse tables.

Each expectation of a suite file is one asset check, named by its `check` and attached to the
table it names, so the UI shows pass/fail, severity and the failing rows per expectation.
Severity comes from the suite:
- `critical` (broken structure: a contract column, a status code, a key) is ERROR and
  blocking. These checks belong to the publish itself (write-audit-publish): it runs them on
  its own transaction before it commits, and when one fails it commits nothing, so readers
  keep the previous snapshot, and the run fails with the checks' counts and samples;
- `warning` and `info` (data-quality rates) are WARN, and run in one op right after the
  commit: Great Expectations is imported once per run (it takes seconds, so only inside the
  ops: the UI re-imports this module on every reload), and each suite reads its batch once.
  The op can run any subset of its checks that the UI selects.

Both record their results on the warehouse's checks page (newsdesk.checks_page), which each
check's result links to.

A publish's checks validate what it changed (meta.changed_*): the pages of the dumps it
loaded, and the articles and headlines those dumps, or the dumps it removed, show. So a
check's cost follows the change, not the warehouse, as Great Expectations validates a new
batch. The first build changes, so checks, every row; `all_rows` checks every row again.
"""

import contextlib
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

import dagster as dg
import pydantic

from assets.keys import CHECKS_OP
from assets.resources import WarehouseResource
from newsdesk.checks_page import check_anchor, record_check_results
from newsdesk.gx_suites import ExpectationOutcome, SuiteRun, failed_outcomes, outcome_summary, run_suites
from newsdesk.suites import Suite, SuiteExpectation, load_suites, suite_parts

if TYPE_CHECKING:
    import duckdb


def _check_key(expectation: SuiteExpectation) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(expectation.asset), expectation.check)


def _spec(suite: Suite, expectation: SuiteExpectation) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=expectation.check,
        asset=expectation.asset,
        # Blocking in Dagster's sense: what depends on the table (the corpus report, which shows
        # the date checks' counts) waits for the check; only an ERROR failure stops it.
        blocking=True,
        description=f"{expectation.description} ({expectation.level}; suite {suite.path.name}, {expectation.type})",
        metadata={"suite": suite.name, "expectation": expectation.type, "level": expectation.level},
    )


def _result(outcome: ExpectationOutcome, suite: Suite, warehouse: WarehouseResource | None) -> dg.AssetCheckResult:
    expectation = outcome.expectation
    metadata: dict[str, object] = {
        "suite": suite.name,
        "expectation": expectation.type,
        "unexpected_count": dg.MetadataValue.int(outcome.unexpected_count or 0),
        "unexpected_percent": dg.MetadataValue.float(round(outcome.unexpected_percent or 0.0, 4)),
        "samples": dg.MetadataValue.json(outcome.samples),
    }
    if warehouse is not None and warehouse.checks_page:
        metadata["checks_page"] = warehouse.page_link(warehouse.warehouse.checks_page, check_anchor(expectation))
    if outcome.element_count is not None:
        metadata["element_count"] = dg.MetadataValue.int(outcome.element_count)
    mostly = expectation.kwargs.get("mostly")
    if isinstance(mostly, (int, float)):
        metadata["max_unexpected_percent"] = dg.MetadataValue.float(round(100 * (1 - mostly), 4))
    if outcome.observed_value is not None:
        metadata["observed_value"] = dg.MetadataValue.json({"value": outcome.observed_value})
    if outcome.error:
        metadata["error"] = dg.MetadataValue.text(outcome.error)
    return dg.AssetCheckResult(
        asset_key=expectation.asset,
        check_name=expectation.check,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity[expectation.level],
        description=outcome_summary(outcome),
        metadata=metadata,
    )


def check_results(
    runs: list[SuiteRun], selected: Collection[dg.AssetCheckKey] | None, warehouse: WarehouseResource | None
) -> Iterator[dg.AssetCheckResult]:
    """The check results of these suite runs (those `selected`, or all), each linked to its
    line of the warehouse's checks page when it keeps one."""
    for run in runs:
        for outcome in run.outcomes:
            if selected is None or _check_key(outcome.expectation) in selected:
                yield _result(outcome, run.suite, warehouse)


def check_specs(suites: list[Suite]) -> list[dg.AssetCheckSpec]:
    return [_spec(suite, e) for suite in suites for e in suite.expectations]


class AuditFailed(Exception):
    """Blocking checks failed on the publish's transaction, which therefore did not commit."""

    def __init__(self, runs: list[SuiteRun]):
        failed = [outcome.expectation for outcome in failed_outcomes(runs)]
        super().__init__(
            f"{len(failed)} blocking check{'s' if len(failed) > 1 else ''} failed, so nothing was published: "
            + ", ".join(f"{e.asset}: {e.check}" for e in failed)
        )
        self.runs = runs


def audit_publish(
    connection: "duckdb.DuckDBPyConnection", warehouse: WarehouseResource, run_name: str
) -> list[SuiteRun]:
    """Run the blocking suites on the publish's own connection, before its COMMIT, and record
    them on the checks page; raise AuditFailed, which rolls the publish back, when one failed."""
    runs = run_suites(AUDIT_SUITES, lambda: contextlib.nullcontext(connection), run_name=run_name)
    try:
        record_results(warehouse, runs, run_name, all_rows=False)
    except OSError:  # the checks after the commit write the page again, and report it
        pass
    if failed_outcomes(runs):
        raise AuditFailed(runs)
    return runs


def record_results(warehouse: WarehouseResource, runs: list[SuiteRun], run_id: str, all_rows: bool) -> None:
    """Put these results on the warehouse's checks page, when it keeps one (OSError if it
    cannot be written)."""
    if warehouse.checks_page:
        scope = "every row" if all_rows else "rows the publish changed"
        record_check_results(warehouse.warehouse.checks_page, runs, SUITES, scope, run_id)


class ChecksConfig(dg.Config):
    all_rows: bool = pydantic.Field(
        default=False,
        description="Validate every row of the warehouse, not only the rows the latest publish changed "
        "(its dumps' pages, and the articles and headlines they show).",
    )


def build_warehouse_checks(suites: list[Suite]) -> list[dg.AssetChecksDefinition]:
    """One multi-asset check op over every expectation of these (non-blocking) suites."""
    if not suites:
        return []

    @dg.multi_asset_check(
        name=CHECKS_OP,
        specs=check_specs(suites),
        can_subset=True,
        compute_kind="great_expectations",
        description="Run the warning-level Great Expectations suites of expectations/ on the published tables.",
    )
    def great_expectations(
        context: dg.AssetCheckExecutionContext, config: ChecksConfig, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        to_run = [s for s in suites if any(_check_key(e) in selected for e in s.expectations)]
        # One connection for every suite: attaching the warehouse costs more than a small query.
        with warehouse.warehouse.reader() as connection:
            runs = run_suites(
                to_run, lambda: contextlib.nullcontext(connection), run_name=context.run.run_id, all_rows=config.all_rows
            )
        for run in runs:
            rows = "its query failed" if run.rows is None else f"{run.rows} rows"
            context.log.info(f"suite {run.suite.name}: {rows}, {run.seconds:.1f} s")
        try:
            record_results(warehouse, runs, context.run.run_id, config.all_rows)
        except OSError as error:
            yield from check_results(runs, selected, None)
            raise dg.Failure(
                description=f"the checks page could not be written to {warehouse.warehouse.checks_folder}: {error}"
            ) from None
        yield from check_results(runs, selected, warehouse)

    return [great_expectations]


SUITES = load_suites()
AUDIT_SUITES = suite_parts(SUITES, blocking=True)
warehouse_checks = build_warehouse_checks(suite_parts(SUITES, blocking=False))
