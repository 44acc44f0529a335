"""The corpus report asset: one HTML page of charts over the warehouse, rebuilt on every publish."""

import dagster as dg
import polars as pl

from assets.automation import publish_after_dumps_change
from assets.keys import CORPUS_REPORT, REPORTS_GROUP, SNAPSHOT_ID, TABLES
from assets.resources import WarehouseResource
from newsdesk.report import write_corpus_report
from newsdesk.suites import load_suites


def _date_problems(instance: dg.DagsterInstance) -> pl.DataFrame:
    """The failing counts of the date expectations, as the last check run recorded them."""
    keys = [
        dg.AssetCheckKey(dg.AssetKey(expectation.asset), expectation.check)
        for suite in load_suites()
        if suite.name == "dates"
        for expectation in suite.expectations
    ]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    rows = []
    for key in keys:
        record = latest.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None:
            continue
        metadata = evaluation.metadata
        rows.append(
            {
                "check": key.name,
                "unexpected_count": metadata["unexpected_count"].value if "unexpected_count" in metadata else 0,
                "passed": evaluation.passed,
            }
        )
    return pl.DataFrame(rows, schema={"check": pl.String, "unexpected_count": pl.Int64, "passed": pl.Boolean})


@dg.asset(
    key=CORPUS_REPORT,
    deps=list(TABLES),
    group_name=REPORTS_GROUP,
    kinds={"plotly", "html"},
    automation_condition=publish_after_dumps_change,
    description=(
        "The corpus report: one HTML page (it renders offline, with the plotly.js file beside it) with articles per "
        "month by edition and by site, the language mix per edition, top sources, rejections per "
        "dump, the largest cross-edition stories and the date problems the latest publish's checks found. "
        "`newsdesk report` prints where it is."
    ),
)
def corpus_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    path, charts, size, snapshot = write_corpus_report(warehouse.warehouse, _date_problems(context.instance))
    return dg.MaterializeResult(
        metadata={
            SNAPSHOT_ID: snapshot,
            "report": warehouse.page_link(path),
            "checks_page": warehouse.page_link(warehouse.warehouse.checks_page),
            "charts": charts,
            "bytes": size,
        }
    )
