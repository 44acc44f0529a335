"""Great Expectations suites from expectations/, run on the DuckDB warehouse.

A suite file (expectations/README.md) is one GX expectation suite plus the SQL query whose
result is the batch it validates. Reading the files costs nothing; Great Expectations is
imported only inside `run_suites`, because the Dagster UI re-imports the code location on
every reload and importing GX takes seconds.

The route: DuckDB runs each suite's query, the result comes out as Arrow and goes to pandas,
and GX 1.x validates that pandas batch in an ephemeral context. Not GX's SQL datasource:
- on DuckDB, GX's SQLAlchemy route is broken (great_expectations issue #11579: results are
  fetched after the connection is closed, every expectation reports an IndexError);
- DuckDB computes what the expectations need (joins such as sightings -> page editions,
  derived columns such as crawl_date + 1 day) in one vectorised pass, and the batch holds only
  the columns the suite reads, so a million-row table costs a few hundred MB, not the bodies;
- the read-only connection is closed before GX starts, so a long validation never holds the
  warehouse file against the next publish;
- pandas is GX's most complete engine. Dates stay `datetime.date` objects (Arrow's default),
  because datetime64[ns] cannot hold the Hijri-looking years (1445) we want to report.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from assets.project import EXPECTATIONS_DIR, VAR_DIR

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

SEVERITIES = ("critical", "warning", "info")  # GX's own levels; critical = broken structure
SAMPLE_SIZE = 10
RESULTS_KEPT_PER_SUITE = 20  # validation results (and their Data Docs pages) kept per suite
_DOCS_SITE = "newsdesk"
_CHECK_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class SuiteError(ValueError):
    """A suite file that cannot be read: its path and what is wrong."""


@dataclass(frozen=True)
class SuiteExpectation:
    """One expectation of a suite, and the Dagster asset check it becomes."""

    check: str  # the check's name, unique per asset
    asset: str  # the warehouse table (asset key) the check is attached to
    type: str  # a GX expectation type, e.g. expect_column_values_to_be_in_set
    kwargs: Mapping[str, Any]
    severity: str  # critical | warning | info
    description: str = ""

    @property
    def blocking(self) -> bool:
        """A critical expectation is broken structure: its failure stops what depends on the table."""
        return self.severity == "critical"

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset, self.check)


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    asset: str
    description: str
    query: str
    parameters: Mapping[str, Any]
    expectations: tuple[SuiteExpectation, ...]


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


def data_docs_dir() -> Path:
    """Where the Data Docs site is built: $NEWSDESK_DATA_DOCS, else var/data_docs/."""
    return Path(os.environ.get("NEWSDESK_DATA_DOCS") or VAR_DIR / "data_docs").expanduser().resolve()


def data_docs_index() -> Path:
    """The Data Docs page to open in a browser: every suite and its latest validations."""
    return data_docs_dir() / "index.html"


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite file (*.yaml, *.yml, *.json) of the folder, checked for what the wiring needs."""
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    suites = [_read_suite(path) for path in paths]
    seen: dict[tuple[str, str], Path] = {}
    for suite in suites:
        for expectation in suite.expectations:
            if expectation.key in seen:
                raise SuiteError(
                    f"{suite.path}: check {expectation.check!r} on {expectation.asset!r} "
                    f"is already defined in {seen[expectation.key]}"
                )
            seen[expectation.key] = suite.path
    return suites


def _read_suite(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML reads JSON too
    except (OSError, yaml.YAMLError) as error:
        raise SuiteError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite file holds a mapping (name, asset, query, expectations)")
    for required in ("name", "asset", "query", "expectations"):
        if not data.get(required):
            raise SuiteError(f"{path}: missing {required!r}")
    expectations = []
    for number, item in enumerate(data["expectations"], start=1):
        where = f"{path}: expectation {number}"
        if not isinstance(item, dict) or not item.get("type") or not item.get("check"):
            raise SuiteError(f"{where}: needs at least 'check' and 'type'")
        if not _CHECK_NAME.match(str(item["check"])):
            raise SuiteError(f"{where}: check name {item['check']!r} may use letters, digits and _ only")
        severity = item.get("severity", "warning")
        if severity not in SEVERITIES:
            raise SuiteError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        expectations.append(
            SuiteExpectation(
                check=str(item["check"]),
                asset=str(item.get("asset", data["asset"])),
                type=str(item["type"]),
                kwargs=dict(item.get("kwargs") or {}),
                severity=severity,
                description=str(item.get("description", "")).strip(),
            )
        )
    return Suite(
        name=str(data["name"]),
        path=path,
        asset=str(data["asset"]),
        description=str(data.get("description", "")).strip(),
        query=str(data["query"]),
        parameters=dict(data.get("parameters") or {}),
        expectations=tuple(expectations),
    )


def suite_parameters(suite: Suite) -> dict[str, Any]:
    """The suite's parameters; NEWSDESK_CHECK_<NAME> in the environment overrides <name>."""
    values = dict(suite.parameters)
    for name in values:
        override = os.environ.get(f"NEWSDESK_CHECK_{name.upper()}")
        if override is not None:
            values[name] = yaml.safe_load(override)  # 2000-01-01 -> a date, 2 -> an int
    return values


def fetch_batch(connection: duckdb.DuckDBPyConnection, suite: Suite, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """The suite's query result as a pandas frame; only the $parameters the query names are bound."""
    named = {key: value for key, value in parameters.items() if re.search(rf"\${re.escape(key)}\b", suite.query)}
    table = connection.sql(suite.query, params=named or None).to_arrow_table()
    # Arrow's defaults: DATE -> datetime.date objects (any year), VARCHAR -> pandas strings.
    return table.to_pandas(split_blocks=True, self_destruct=True)


Connect = Callable[[], AbstractContextManager["duckdb.DuckDBPyConnection"]]


def run_suites(
    suites: Iterable[Suite],
    connect: Connect,
    *,
    all_suites: Iterable[Suite] = (),
    data_docs: Path | None = None,
    run_name: str | None = None,
) -> list[SuiteRun]:
    """Validate each suite against the batch its query returns, one suite at a time (one batch
    in memory at a time). `connect()` gives a read-only connection, opened only for the fetch.
    With `data_docs`, results are kept there and the Data Docs site is rebuilt; `all_suites`
    are listed on it even when they did not run."""
    import duckdb

    suites = list(suites)
    context, definitions = _gx_context(list({s.name: s for s in [*all_suites, *suites]}.values()), data_docs)
    run_id = _run_identifier(run_name)
    runs = []
    for suite in suites:
        started = time.perf_counter()
        parameters = suite_parameters(suite)
        try:
            with connect() as connection:
                frame = fetch_batch(connection, suite, parameters)
        except duckdb.Error as error:
            message = f"the suite's query failed: {str(error).splitlines()[0]}"
            runs.append(SuiteRun(suite, _all_failed(suite, message), None, time.perf_counter() - started))
            continue
        definition = definitions[suite.name]
        if isinstance(definition, str):  # the suite could not be built: its error
            outcomes = _all_failed(suite, definition)
        else:
            try:
                outcomes = _validate(definition, suite, frame, parameters, run_id)
            except Exception as error:  # e.g. a $PARAMETER without a value: this suite's checks fail, not the others'
                outcomes = _all_failed(suite, f"Great Expectations could not validate the suite: {error}")
        runs.append(SuiteRun(suite, outcomes, len(frame), time.perf_counter() - started))
        del frame
    if data_docs is not None:
        _build_data_docs(context, data_docs, run_id)
    return runs


def _gx_context(suites: list[Suite], data_docs: Path | None):
    """An ephemeral GX context holding every suite; validation results go to a folder next to
    the Data Docs site, so that runs in other processes appear on the same index."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    if data_docs is not None:
        config.stores[config.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(data_docs / "results"),
        }
        config.data_docs_sites = {
            _DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("warehouse")
    definitions: dict[str, Any] = {}
    for suite in suites:
        try:
            definitions[suite.name] = _validation_definition(context, source, suite)
        except Exception as error:  # a suite GX rejects (unknown type, bad kwargs) fails its own checks only
            definitions[suite.name] = f"{suite.path.name} is not a valid GX suite: {error}"
    return context, definitions


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


def _build_data_docs(context, data_docs: Path, run_id) -> None:
    """Render this run's results and every suite, keep the latest results per suite, and
    rebuild the index. A file lock keeps two runs from writing the site at once."""
    from filelock import FileLock
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    data_docs.mkdir(parents=True, exist_ok=True)
    with FileLock(str(data_docs / ".lock")):
        store = context.validation_results_store
        by_suite: dict[str, list] = {}
        for key in store.list_keys():
            by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
        for keys in by_suite.values():
            keys.sort(key=lambda k: str(k.run_id.run_time), reverse=True)
            for old in keys[RESULTS_KEPT_PER_SUITE:]:
                store.remove_key(old)  # the index build then removes its page too
        new_results = [key for keys in by_suite.values() for key in keys if key.run_id == run_id]
        suites = [ExpectationSuiteIdentifier(name=suite.name) for suite in context.suites.all()]
        # Only this run's pages are rendered; the older ones are on disk already.
        context.build_data_docs(site_names=[_DOCS_SITE], resource_identifiers=[*suites, *new_results])
