"""Great Expectations suites (expectations/) run as Dagster asset checks on the warehouse tables.

Each expectation of a suite file is one asset check, named by its `check` and attached to the
table it names, so the UI shows pass/fail, severity and the failing rows per expectation.
Severity comes from the suite: `critical` (broken structure: a contract column, a status
code, a key) is ERROR and blocking, so a failure fails the publish run and nothing downstream
of the table runs on it; `warning` and `info` (data-quality rates) are WARN.

All suites run in one op, in the publish_warehouse job and `newsdesk run` right after the
tables are written: Great Expectations is imported once per run (it takes seconds, so only
inside the op: the UI re-imports this module on every reload), each suite reads its batch once,
and Data Docs are rebuilt once (next to the warehouse). The op can run any subset of the
checks the UI selects.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from assets.keys import CHECKS_OP
from assets.resources import WarehouseResource
from newsdesk.gx_suites import ExpectationOutcome, run_suites
from newsdesk.suites import Suite, SuiteExpectation, load_suites


def _check_key(expectation: SuiteExpectation) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(expectation.asset), expectation.check)


def _spec(suite: Suite, expectation: SuiteExpectation) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=expectation.check,
        asset=expectation.asset,
        blocking=expectation.blocking,
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


def build_warehouse_checks(suites: list[Suite]) -> list[dg.AssetChecksDefinition]:
    """One multi-asset check op over every expectation of every suite."""
    if not suites:
        return []

    @dg.multi_asset_check(
        name=CHECKS_OP,
        specs=[_spec(suite, e) for suite in suites for e in suite.expectations],
        can_subset=True,
        compute_kind="great_expectations",
        description="Run the Great Expectations suites of expectations/ on the warehouse tables.",
    )
    def great_expectations(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        to_run = [s for s in suites if any(_check_key(e) in selected for e in s.expectations)]
        store = warehouse.warehouse
        data_docs_index = store.data_docs_index if warehouse.data_docs else None
        # One connection for every suite: attaching the warehouse costs more than a small query.
        with store.reader() as connection:
            runs = run_suites(
                to_run,
                lambda: contextlib.nullcontext(connection),
                all_suites=suites,
                data_docs=data_docs_index.parent if data_docs_index else None,
                run_name=context.run.run_id,
            )
        for run in runs:
            rows = "its query failed" if run.rows is None else f"{run.rows} rows"
            context.log.info(f"suite {run.suite.name}: {rows}, {run.seconds:.1f} s")
            for outcome in run.outcomes:
                if _check_key(outcome.expectation) in selected:
                    yield _result(outcome, run.suite, data_docs_index)
        if data_docs_index is not None:
            context.log.info(f"Data Docs: {data_docs_index}")

    return [great_expectations]


warehouse_checks = build_warehouse_checks(load_suites())
