"""Great Expectations suites (read by newsdesk.suites) run on the DuckDB warehouse.

Great Expectations is imported only inside `run_suites`, because the Dagster UI re-imports the
code location on every reload and importing GX takes seconds.

The route: DuckDB runs each suite's query, the result comes out as Arrow and goes to pandas,
and GX 1.x validates that pandas batch in an ephemeral context. Not GX's SQL datasource:
- on DuckDB, GX's SQLAlchemy route is broken (great_expectations issue #11579: results are
  fetched after the connection is closed, every expectation reports an IndexError);
- DuckDB computes what the expectations need (joins such as sightings -> page editions,
  derived columns such as crawl_date + 1 day) in one vectorised pass, and the batch holds only
  the columns the suite reads, so a million-row table costs a few hundred MB, not the bodies;
- the publish audits its blocking suites on its own uncommitted transaction, which only a
  query on its connection can see;
- pandas is GX's most complete engine. Dates stay `datetime.date` objects (Arrow's default),
  because datetime64[ns] cannot hold the Hijri-looking years (1445) we want to report.

The results are shown on newsdesk's own checks page (newsdesk.checks_page), not GX's Data
Docs: those load Bootstrap, jQuery and Font Awesome from CDNs, and offline they show an empty
table.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsdesk.sql import parameters_for
from newsdesk.suites import ALL_ROWS, Suite, SuiteExpectation, suite_parameters

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

SAMPLE_SIZE = 10
_ALL_ROWS_PARAMETER = re.compile(rf"\${ALL_ROWS}\b")


@dataclass
class ExpectationOutcome:
    """What one expectation found: the facts a Dagster check result shows."""

    expectation: SuiteExpectation
    passed: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    samples: list = field(default_factory=list)
    observed_value: Any = None
    error: str | None = None


@dataclass
class SuiteRun:
    suite: Suite
    outcomes: list[ExpectationOutcome]
    rows: int | None  # rows in the batch; None when the query failed
    seconds: float


def fetch_batch(
    connection: duckdb.DuckDBPyConnection, suite: Suite, parameters: Mapping[str, Any], all_rows: bool
) -> pd.DataFrame:
    """The suite's query result as a pandas frame; only the $parameters the query names are bound.
    $all_rows is written into the query as TRUE or FALSE instead: DuckDB then plans only the
    branch it takes, where a bound parameter keeps both (`$all_rows OR id IN (...)` reads
    every row through the subquery's join either way, ten times slower)."""
    query = _ALL_ROWS_PARAMETER.sub("TRUE" if all_rows else "FALSE", suite.query)
    table = connection.sql(query, params=parameters_for(query, parameters)).to_arrow_table()
    # Arrow's defaults: DATE -> datetime.date objects (any year), VARCHAR -> pandas strings.
    return table.to_pandas(split_blocks=True, self_destruct=True)


Connect = Callable[[], AbstractContextManager["duckdb.DuckDBPyConnection"]]


def run_suites(
    suites: Iterable[Suite],
    connect: Connect,
    *,
    run_name: str | None = None,
    all_rows: bool = False,
) -> list[SuiteRun]:
    """Validate each suite against the batch its query returns. `connect()` gives the
    connection to query; in the queries, $all_rows (newsdesk.suites.ALL_ROWS) says whether to
    validate every row or only those the latest publish changed.

    The next suite's batch is fetched while this one validates, and the first while GX is
    imported: DuckDB works without the GIL, GX mostly with it, so the two share two cores
    well. At most two batches are in memory at a time."""
    suites = list(suites)
    runs = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="suite-batch") as fetcher:
        pending = fetcher.submit(_fetch, suites[0], connect, all_rows) if suites else None
        definitions = _gx_definitions(suites)
        run_id = _run_identifier(run_name)
        for index, suite in enumerate(suites):
            batch = pending.result()
            if index + 1 < len(suites):
                pending = fetcher.submit(_fetch, suites[index + 1], connect, all_rows)
            runs.append(_validated(suite, batch, definitions[suite.name], run_id))
            del batch
    return runs


def failed_outcomes(runs: Iterable[SuiteRun]) -> list[ExpectationOutcome]:
    return [outcome for run in runs for outcome in run.outcomes if not outcome.passed]


def outcome_summary(outcome: ExpectationOutcome) -> str:
    """What an expectation found, in words: "3 unexpected of 620 (0.48%), at most 2.00% allowed"."""
    if outcome.error:
        return f"could not run: {outcome.error}"
    if outcome.unexpected_count is None:
        return "passed" if outcome.passed else "failed"
    text = f"{outcome.unexpected_count:,} unexpected"
    if outcome.element_count is not None:
        text += f" of {outcome.element_count:,}"
    if outcome.unexpected_percent is not None:
        text += f" ({outcome.unexpected_percent:.2f}%)"
    mostly = outcome.expectation.kwargs.get("mostly")
    if isinstance(mostly, (int, float)):
        text += f", at most {100 * (1 - mostly):.2f}% allowed"
    return text


@dataclass
class _Batch:
    frame: pd.DataFrame | None  # None when the query failed
    error: str | None
    parameters: dict[str, Any]
    seconds: float


def _fetch(suite: Suite, connect: Connect, all_rows: bool) -> _Batch:
    import duckdb

    started = time.perf_counter()
    parameters = suite_parameters(suite)
    try:
        with connect() as connection:
            frame = fetch_batch(connection, suite, parameters, all_rows)
    except duckdb.Error as error:
        message = f"the suite's query failed: {str(error).splitlines()[0]}"
        return _Batch(None, message, parameters, time.perf_counter() - started)
    return _Batch(frame, None, parameters, time.perf_counter() - started)


def _validated(suite: Suite, batch: _Batch, definition, run_id) -> SuiteRun:
    started = time.perf_counter()
    if batch.frame is None:
        return SuiteRun(suite, _all_failed(suite, batch.error), None, batch.seconds)
    if isinstance(definition, str):  # the suite could not be built: its error
        outcomes = _all_failed(suite, definition)
    else:
        try:
            outcomes = _validate(definition, suite, batch.frame, batch.parameters, run_id)
        except Exception as error:  # e.g. a $PARAMETER without a value: this suite's checks fail, not the others'
            outcomes = _all_failed(suite, f"Great Expectations could not validate the suite: {error}")
    return SuiteRun(suite, outcomes, len(batch.frame), batch.seconds + time.perf_counter() - started)


def _gx_definitions(suites: list[Suite]) -> dict[str, Any]:
    """Each suite's GX validation definition, in an ephemeral context (nothing written to disk),
    or the reason GX rejected the suite."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX hashes every pandas batch under this many bytes, all of it, for a fingerprint kept
    # among the batch markers. We never read that marker, and on a million rows the hash is
    # half of a suite's time. The threshold is a module constant in GX 1.x, with no setting.
    pandas_execution_engine.HASH_THRESHOLD = 0

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("warehouse")
    definitions: dict[str, Any] = {}
    for suite in suites:
        try:
            definitions[suite.name] = _validation_definition(context, source, suite)
        except Exception as error:  # a suite GX rejects (unknown type, bad kwargs) fails its own checks only
            definitions[suite.name] = f"{suite.path.name} is not a valid GX suite: {error}"
    return definitions


def _validation_definition(context, source, suite: Suite):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("query result")
    expectations = [
        ExpectationConfiguration(
            type=e.type,
            kwargs=dict(e.kwargs),
            meta={"check": e.check, "asset": e.asset, "notes": e.description},
            severity=e.severity,
        ).to_domain_obj()
        for e in suite.expectations
    ]
    gx_suite = context.suites.add(
        gx.ExpectationSuite(
            name=suite.name,
            expectations=expectations,
            meta={"notes": suite.description, "source": str(suite.path), "query": suite.query},
        )
    )
    return context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))


def _run_identifier(run_name: str | None):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name or "newsdesk", run_time=datetime.datetime.now(datetime.timezone.utc))


def _validate(definition, suite: Suite, frame, parameters: Mapping[str, Any], run_id) -> list[ExpectationOutcome]:
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters),
        # BASIC: counts and a partial list of values; SUMMARY/COMPLETE would also walk every
        # unexpected row in Python, which is slow when a rate check fails on a million rows.
        result_format={"result_format": "BASIC", "partial_unexpected_count": 2 * SAMPLE_SIZE},
        run_id=run_id,
    )
    by_key = {e.key: e for e in suite.expectations}
    outcomes = []
    for item in result.results:
        meta = item.expectation_config.meta or {}
        expectation = by_key[(meta["asset"], meta["check"])]
        outcomes.append(_outcome(expectation, item))
    return outcomes


def _outcome(expectation: SuiteExpectation, item) -> ExpectationOutcome:
    details = dict(item.result or {})
    error = _exception_message(item.exception_info)
    samples = details.get("partial_unexpected_list") or details.get("partial_missing_list") or []
    unexpected_count = details.get("unexpected_count", details.get("missing_count"))
    unexpected_percent = details.get("unexpected_percent")
    value_set = expectation.kwargs.get("value_set")
    if unexpected_percent is None and "missing_count" in details and value_set:
        unexpected_percent = 100 * details["missing_count"] / len(value_set)  # share of the set not found
    return ExpectationOutcome(
        expectation=expectation,
        passed=bool(item.success) and error is None,
        element_count=details.get("element_count"),
        unexpected_count=unexpected_count,
        unexpected_percent=unexpected_percent,
        samples=_distinct_json(samples)[:SAMPLE_SIZE],
        observed_value=_json_value(details.get("observed_value")),
        error=error,
    )


def _exception_message(info) -> str | None:
    """GX reports an exception either flat or per metric; the first message, if any."""
    if not info:
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "the expectation raised an error") if info["raised_exception"] else None
    for value in info.values():
        message = _exception_message(value) if isinstance(value, dict) else None
        if message:
            return message
    return None


def _all_failed(suite: Suite, message: str) -> list[ExpectationOutcome]:
    return [ExpectationOutcome(expectation=e, passed=False, error=message) for e in suite.expectations]


def _json_value(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO strings, tuples as lists, NaN/NaT as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_value(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    text = str(value)
    return None if text in ("NaT", "nan", "<NA>") else text


def _distinct_json(values: Iterable[Any]) -> list:
    distinct, seen = [], set()
    for value in values:
        converted = _json_value(value)
        marker = json.dumps(converted, sort_keys=True, ensure_ascii=False)
        if marker not in seen:
            seen.add(marker)
            distinct.append(converted)
    return distinct
