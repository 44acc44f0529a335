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
  ops: the UI re-imports this module on every reload), each suite reads its batch once, and
  Data Docs (next to the warehouse) are rebuilt with the run's results. The op can run any
  subset of its checks that the UI selects.

A publish's checks validate what it changed (meta.changed_*): the pages of the dumps it
loaded, and the articles and headlines those dumps, or the dumps it removed, show. So a
check's cost follows the change, not the warehouse, as Great Expectations validates a new
batch. The first build changes, so checks, every row; `all_rows` checks every row again.
"""

import contextlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pydantic

from assets.keys import CHECKS_OP
from assets.resources import WarehouseResource
from newsdesk.gx_suites import DataDocsError, ExpectationOutcome, SuiteRun, failed_outcomes, run_suites
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
        description=f"{expectation.description} (suite {suite.path.name}, {expectation.type}, {expectation.severity})",
        metadata={"suite": suite.name, "expectation": expectation.type, "severity": expectation.severity},
    )


def _result(outcome: ExpectationOutcome, suite: Suite, data_docs_index: Path | None) -> dg.AssetCheckResult:
    expectation = outcome.expectation
    metadata: dict[str, object] = {
        "suite": suite.name,
        "expectation": expectation.type,
        "unexpected_count": dg.MetadataValue.int(outcome.unexpected_count or 0),
        "unexpected_percent": dg.MetadataValue.float(round(outcome.unexpected_percent or 0.0, 4)),
        "samples": dg.MetadataValue.json(outcome.samples),
    }
    if data_docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(data_docs_index))
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
        severity=dg.AssetCheckSeverity.ERROR if expectation.blocking else dg.AssetCheckSeverity.WARN,
        description=_summary(outcome),
        metadata=metadata,
    )


def _summary(outcome: ExpectationOutcome) -> str:
    if outcome.error:
        return f"could not run: {outcome.error}"
    if outcome.unexpected_count is None:
        return "passed" if outcome.passed else "failed"
    text = f"{outcome.unexpected_count} unexpected"
    if outcome.element_count is not None:
        text += f" of {outcome.element_count}"
    if outcome.unexpected_percent is not None:
        text += f" ({outcome.unexpected_percent:.2f}%)"
    mostly = outcome.expectation.kwargs.get("mostly")
    if isinstance(mostly, (int, float)):
        text += f", at most {100 * (1 - mostly):.2f}% allowed"
    return text


def check_results(
    runs: list[SuiteRun], selected: Collection[dg.AssetCheckKey] | None, data_docs_index: Path | None
) -> Iterator[dg.AssetCheckResult]:
    """The check results of these suite runs (those `selected`, or all)."""
    for run in runs:
        for outcome in run.outcomes:
            if selected is None or _check_key(outcome.expectation) in selected:
                yield _result(outcome, run.suite, data_docs_index)


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
    """Run the blocking suites on the publish's own connection, before its COMMIT; raise
    AuditFailed, which rolls the publish back, when one of them fails."""
    try:
        # The checks after the commit rebuild the Data Docs with these results too.
        runs = _validate(AUDIT_SUITES, connection, warehouse, run_name, site_when_passing=False)
    except DataDocsError as error:  # the checks after the commit write the site again, and report it
        runs = error.runs
    if failed_outcomes(runs):
        raise AuditFailed(runs)
    return runs


def _validate(
    suites: list[Suite],
    connection: "duckdb.DuckDBPyConnection",
    warehouse: WarehouseResource,
    run_name: str,
    *,
    site_when_passing: bool = True,
    all_rows: bool = False,
) -> list[SuiteRun]:
    """Validate the suites on one connection; with Data Docs on, the site gets the results."""
    return run_suites(
        suites,
        lambda: contextlib.nullcontext(connection),
        all_suites=SUITES,
        data_docs=warehouse.data_docs_index.parent if warehouse.data_docs else None,
        site_when_passing=site_when_passing,
        run_name=run_name,
        all_rows=all_rows,
    )


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
        data_docs_index = warehouse.data_docs_index
        docs_failure = None
        # One connection for every suite: attaching the warehouse costs more than a small query.
        with warehouse.warehouse.reader() as connection:
            try:
                runs = _validate(to_run, connection, warehouse, context.run.run_id, all_rows=config.all_rows)
            except DataDocsError as error:
                runs, docs_failure, data_docs_index = error.runs, error, None
        for run in runs:
            rows = "its query failed" if run.rows is None else f"{run.rows} rows"
            context.log.info(f"suite {run.suite.name}: {rows}, {run.seconds:.1f} s")
        yield from check_results(runs, selected, data_docs_index)
        if docs_failure is not None:
            raise dg.Failure(description=str(docs_failure))
        if data_docs_index is not None:
            context.log.info(f"Data Docs: {data_docs_index}")

    return [great_expectations]


SUITES = load_suites()
AUDIT_SUITES = suite_parts(SUITES, blocking=True)
warehouse_checks = build_warehouse_checks(suite_parts(SUITES, blocking=False))
