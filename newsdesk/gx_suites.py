"""Great Expectations suites (read by newsdesk.suites) run on the DuckDB warehouse.

Great Expectations is imported only inside `run_suites`, because the Dagster UI re-imports the
code location on every reload and importing GX takes seconds.

The route: DuckDB runs each suite's query into a temporary table, slices of it come out as
Arrow and go to pandas, and GX 1.x validates each slice in an ephemeral context; the slices'
counts are summed (`run_suites`). Not GX's SQL datasource:
- on DuckDB, GX's SQLAlchemy route is broken (great_expectations issue #11579: results are
  fetched after the connection is closed, every expectation reports an IndexError);
- DuckDB computes what the expectations need (joins such as sightings -> page editions,
  derived columns such as crawl_date + 1 day) in one vectorised pass, and the batch holds only
  the columns the suite reads, so a slice of 250,000 rows costs tens of MB, not the bodies;
- the publish audits its blocking suites on its own uncommitted transaction, which only a
  query on its connection can see;
- pandas is GX's most complete engine. Dates stay `datetime.date` objects (Arrow's default),
  because datetime64[ns] cannot hold the Hijri-looking years (1445) we want to report.

The results are shown on newsdesk's own checks page (newsdesk.checks_page), not GX's Data
Docs: those load Bootstrap, jQuery and Font Awesome from CDNs, and offline they show an empty
table.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
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
# A batch of more rows is validated in slices of about this many, so that what GX holds at once
# (pandas frames of Python objects, several times the rows' size) does not grow with the corpus.
SLICE_ROWS = 250_000
_ALL_ROWS_PARAMETER = re.compile(rf"\${ALL_ROWS}\b")
# Where a suite's batch waits to be sliced: DuckDB's own memory, which spills to disk.
_BATCH_TABLE = "newsdesk_suite_batch"
# Expectations whose counts add up over any cut of the batch into slices: each row is judged alone.
ROW_WISE_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }
)
# Expectations whose counts add up over slices cut on their columns (the argument that names
# them): rows with equal values there share a slice, so every duplicate meets what it duplicates.
UNIQUENESS_COLUMNS = {
    "expect_column_values_to_be_unique": "column",
    "expect_compound_columns_to_be_unique": "column_list",
}


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


@dataclass(frozen=True)
class Slicing:
    """Some of a suite's expectations (`part`), validated together over slices of its batch cut
    on `key`: rows with equal values of the key share a slice; with no key, any cut will do.
    With key None, they are validated over the whole batch at once."""

    part: Suite
    key: tuple[str, ...] | None


def slicings(suite: Suite) -> list[Slicing]:
    """How a suite's batch is validated when it has more rows than a slice: one part per
    uniqueness key, the row-wise expectations with the first of them, and the rest (aggregates
    such as distinct values, or a `mostly` given as a $PARAMETER) over the whole batch."""
    by_key: dict[tuple[str, ...], list[SuiteExpectation]] = {}
    row_wise, whole = [], []
    for expectation in suite.expectations:
        key = _uniqueness_key(expectation)
        if not isinstance(expectation.kwargs.get("mostly", 1), (int, float)):
            whole.append(expectation)  # its success needs the value GX resolves
        elif key:
            by_key.setdefault(key, []).append(expectation)
        elif expectation.type in ROW_WISE_EXPECTATIONS:
            row_wise.append(expectation)
        else:
            whole.append(expectation)
    groups: list[tuple[tuple[str, ...] | None, list[SuiteExpectation]]] = list(by_key.items())
    if row_wise and groups:
        groups[0] = (groups[0][0], groups[0][1] + row_wise)
    elif row_wise:
        groups.append(((), row_wise))
    if whole:
        groups.append((None, whole))
    return [
        Slicing(dataclasses.replace(suite, name=f"{suite.name}#{number}", expectations=tuple(members)), key)
        for number, (key, members) in enumerate(groups)
    ]


def _uniqueness_key(expectation: SuiteExpectation) -> tuple[str, ...]:
    """The columns whose values a uniqueness expectation compares; () for other expectations."""
    argument = UNIQUENESS_COLUMNS.get(expectation.type)
    if argument is None:
        return ()
    columns = expectation.kwargs.get(argument)
    columns = [columns] if isinstance(columns, str) else columns
    if isinstance(columns, list) and all(isinstance(column, str) for column in columns):
        return tuple(columns)
    return ()


Connect = Callable[[], AbstractContextManager["duckdb.DuckDBPyConnection"]]


def run_suites(
    suites: Iterable[Suite],
    connect: Connect,
    *,
    run_name: str | None = None,
    all_rows: bool = False,
    slice_rows: int = SLICE_ROWS,
) -> list[SuiteRun]:
    """Validate each suite against the batch its query returns. `connect()` gives the
    connection to query; in the queries, $all_rows (newsdesk.suites.ALL_ROWS) says whether to
    validate every row or only those the latest publish changed.

    A batch of more than `slice_rows` rows waits in a DuckDB temporary table and is validated
    slice by slice (`slicings`); the counts of its slices are summed, so the outcome is the
    one of the whole batch. The next slice is fetched while this one validates, and the first
    while GX is imported: DuckDB works without the GIL, GX mostly with it, so the two share two
    cores well. At most two slices are in memory at a time."""
    suites = list(suites)
    progress = [_SuiteProgress(suite) for suite in suites]
    pieces = _pieces(suites, connect, all_rows, slice_rows)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="suite-batch") as fetcher:
        pending = fetcher.submit(next, pieces, None)
        validator = _Validator(run_name)
        while (piece := pending.result()) is not None:
            pending = fetcher.submit(next, pieces, None)
            progress[piece.suite_index].add(piece, validator)
            del piece
    return [suite_progress.run() for suite_progress in progress]


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
class _Piece:
    """A slice of a suite's batch (or the whole batch, slicing None), or the error of its query."""

    suite_index: int
    slicing: Slicing | None
    frame: pd.DataFrame | None
    rows: int | None  # the whole batch's
    parameters: dict[str, Any]
    seconds: float
    error: str | None = None


def _pieces(suites: list[Suite], connect: Connect, all_rows: bool, slice_rows: int) -> Iterator[_Piece]:
    import duckdb

    for index, suite in enumerate(suites):
        parameters = suite_parameters(suite)
        started = time.perf_counter()
        try:
            with connect() as connection:
                rows = _materialise(connection, suite, parameters, all_rows)
                for slicing, condition in _cuts(suite, rows, slice_rows):
                    frame = _slice_frame(connection, condition)
                    yield _Piece(index, slicing, frame, rows, parameters, time.perf_counter() - started)
                    started = time.perf_counter()
                connection.execute(f"DROP TABLE temp.main.{_BATCH_TABLE}")
        except duckdb.Error as error:
            message = f"the suite's query failed: {str(error).splitlines()[0]}"
            yield _Piece(index, None, None, None, parameters, time.perf_counter() - started, message)


def _materialise(connection: duckdb.DuckDBPyConnection, suite: Suite, parameters: Mapping[str, Any], all_rows: bool) -> int:
    """The suite's query result into the batch table; its rows. $all_rows is written into the
    query as TRUE or FALSE instead of bound: DuckDB then plans only the branch it takes, where a
    bound parameter keeps both (`$all_rows OR id IN (...)` reads every row through the
    subquery's join either way, ten times slower)."""
    query = _ALL_ROWS_PARAMETER.sub("TRUE" if all_rows else "FALSE", suite.query).strip().rstrip(";")
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {_BATCH_TABLE} AS {query}", parameters_for(query, parameters))
    return connection.execute(f"SELECT count(*) FROM temp.main.{_BATCH_TABLE}").fetchone()[0]


def _cuts(suite: Suite, rows: int, slice_rows: int) -> Iterator[tuple[Slicing | None, str]]:
    """(slicing, the WHERE condition of one slice of the batch table), slice after slice."""
    if rows <= slice_rows:
        yield None, "TRUE"
        return
    count = -(-rows // slice_rows)
    for slicing in slicings(suite):
        if slicing.key is None:
            yield slicing, "TRUE"
        elif not slicing.key:  # consecutive rows: a range of row ids is read from its zones alone
            for number in range(count):
                yield slicing, f"rowid >= {number * slice_rows} AND rowid < {(number + 1) * slice_rows}"
        else:
            columns = ", ".join('"' + column.replace('"', '""') + '"' for column in slicing.key)
            for number in range(count):
                yield slicing, f"hash({columns}) % {count} = {number}"


def _slice_frame(connection: duckdb.DuckDBPyConnection, condition: str) -> pd.DataFrame:
    table = connection.execute(f"SELECT * FROM temp.main.{_BATCH_TABLE} WHERE {condition}").to_arrow_table()
    # Arrow's defaults: DATE -> datetime.date objects (any year), VARCHAR -> pandas strings.
    return table.to_pandas(split_blocks=True, self_destruct=True)


class _Validator:
    """GX's ephemeral context and the validation definition of each suite (or part of one) it
    has validated, built at first use; GX is imported when the first is built."""

    def __init__(self, run_name: str | None):
        self._run_name = run_name
        self._context = None
        self._definitions: dict[str, Any] = {}

    def validate(self, suite: Suite, part: Suite, frame: pd.DataFrame, parameters: Mapping[str, Any]):
        """GX's result item of each expectation of `part` (a part of `suite`, or the suite),
        or why GX could not validate it."""
        definition = self._definition(suite)
        if part is not suite and not isinstance(definition, str):
            definition = self._definition(part)
        if isinstance(definition, str):
            return definition
        try:
            return _validate(definition, part, frame, parameters, self._run_id)
        except Exception as error:  # e.g. a $PARAMETER without a value: this suite's checks fail, not the others'
            return f"Great Expectations could not validate the suite: {error}"

    def _definition(self, suite: Suite):
        if suite.name not in self._definitions:
            if self._context is None:
                self._context, self._source = _gx_context()
                self._run_id = _run_identifier(self._run_name)
            try:
                self._definitions[suite.name] = _validation_definition(self._context, self._source, suite)
            except Exception as error:  # a suite GX rejects (unknown type, bad kwargs) fails its own checks only
                self._definitions[suite.name] = f"{suite.path.name} is not a valid GX suite: {error}"
        return self._definitions[suite.name]


class _SuiteProgress:
    """The results of one suite's pieces, as they are validated."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self.rows: int | None = None
        self.seconds = 0.0
        self.error: str | None = None
        self.items: dict[tuple[str, str], list] = {}
        self.failures: dict[tuple[str, str], str] = {}

    def add(self, piece: _Piece, validator: _Validator) -> None:
        started = time.perf_counter()
        if piece.error is not None:
            self.error = piece.error
        else:
            self.rows = piece.rows
            part = self.suite if piece.slicing is None else piece.slicing.part
            results = validator.validate(self.suite, part, piece.frame, piece.parameters)
            for expectation in part.expectations:
                if isinstance(results, str):  # why GX could not validate the part
                    self.failures[expectation.key] = results
                else:
                    self.items.setdefault(expectation.key, []).append(results[expectation.key])
        self.seconds += piece.seconds + time.perf_counter() - started

    def run(self) -> SuiteRun:
        if self.error is not None:
            return SuiteRun(self.suite, _all_failed(self.suite, self.error), None, self.seconds)
        outcomes = [
            ExpectationOutcome(expectation=e, passed=False, error=self.failures[e.key])
            if e.key in self.failures
            else _outcome(e, self.items[e.key])
            for e in self.suite.expectations
        ]
        return SuiteRun(self.suite, outcomes, self.rows, self.seconds)


def _gx_context():
    """An ephemeral GX context (nothing written to disk) and its pandas data source."""
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
    return context, context.data_sources.add_pandas("warehouse")


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


def _validate(definition, suite: Suite, frame, parameters: Mapping[str, Any], run_id) -> dict[tuple[str, str], Any]:
    """GX's result item of each expectation, by the expectation's key."""
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters),
        # BASIC: counts and a partial list of values; SUMMARY/COMPLETE would also walk every
        # unexpected row in Python, which is slow when a rate check fails on a million rows.
        result_format={"result_format": "BASIC", "partial_unexpected_count": 2 * SAMPLE_SIZE},
        run_id=run_id,
    )
    items = {}
    for item in result.results:
        meta = item.expectation_config.meta or {}
        items[(meta["asset"], meta["check"])] = item
    return items


def _outcome(expectation: SuiteExpectation, items: list) -> ExpectationOutcome:
    """The outcome from GX's result items: one for a whole batch, or one per slice."""
    if len(items) == 1:
        success, details, exception_info = items[0].success, dict(items[0].result or {}), items[0].exception_info
    else:
        success, details, exception_info = _summed(expectation, items)
    error = _exception_message(exception_info)
    samples = details.get("partial_unexpected_list") or details.get("partial_missing_list") or []
    unexpected_count = details.get("unexpected_count", details.get("missing_count"))
    unexpected_percent = details.get("unexpected_percent")
    value_set = expectation.kwargs.get("value_set")
    if unexpected_percent is None and "missing_count" in details and value_set:
        unexpected_percent = 100 * details["missing_count"] / len(value_set)  # share of the set not found
    return ExpectationOutcome(
        expectation=expectation,
        passed=bool(success) and error is None,
        element_count=details.get("element_count"),
        unexpected_count=unexpected_count,
        unexpected_percent=unexpected_percent,
        samples=_distinct_json(samples)[:SAMPLE_SIZE],
        observed_value=_json_value(details.get("observed_value")),
        error=error,
    )


def _summed(expectation: SuiteExpectation, items: list) -> tuple[bool, dict, Any]:
    """A row-wise or uniqueness expectation's success, result and exception over the whole
    batch, from its slices' items, computed as GX does (`_mostly_success`, `_format_map_output`):
    the rows, the missing (not considered) and the unexpected ones are added up."""
    results = [dict(item.result or {}) for item in items]
    elements = sum(result.get("element_count") or 0 for result in results)
    considered = elements - sum(result.get("missing_count") or 0 for result in results)
    unexpected = sum(result.get("unexpected_count") or 0 for result in results)
    details = {
        "element_count": elements,
        "unexpected_count": unexpected,
        "unexpected_percent": unexpected / considered * 100 if considered else None,
        "partial_unexpected_list": [value for result in results for value in result.get("partial_unexpected_list") or []],
    }
    success = considered == 0 or (considered - unexpected) / considered >= expectation.kwargs.get("mostly", 1)
    exception_info = next((item.exception_info for item in items if _exception_message(item.exception_info)), None)
    return success, details, exception_info


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
