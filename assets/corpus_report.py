"""The corpus report asset: one HTML page of charts over the warehouse, rebuilt on every publish."""

import os
from datetime import datetime, timezone

import dagster as dg
import polars as pl

from assets.project import SQL_DIR
from assets.publish import CONTRACT_TABLES
from assets.transforms.report_html import SECTIONS, build_report_html
from orchestration.automation import publish_after_dumps_change
from orchestration.resources import Warehouse


def report_path(warehouse: Warehouse):
    return warehouse.file.with_name(warehouse.file.stem + "_report.html")


def _date_problems(instance: dg.DagsterInstance) -> pl.DataFrame:
    """The failing counts of the date expectations, as the last check run recorded them."""
    from orchestration.suites import load_suites

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
    deps=list(CONTRACT_TABLES),
    group_name="reports",
    kinds={"plotly", "html"},
    automation_condition=publish_after_dumps_change,
    description=(
        "The corpus report: one self-contained HTML page (it renders offline) with articles per "
        "month by edition and by site, the language mix per edition, top sources, rejections per "
        "dump, the largest cross-edition stories and the date problems found by the checks. "
        "`newsdesk report` prints where it is."
    ),
)
def corpus_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    queries = {section: (SQL_DIR / "report" / f"{section}.sql") for section, _, _ in SECTIONS}
    with warehouse.reader() as connection:
        frames = {name: connection.sql(path.read_text(encoding="utf-8")).pl() for name, path in queries.items() if path.exists()}
    frames["date_problems"] = _date_problems(context.instance)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = build_report_html(frames, "newsdesk corpus report", f"Warehouse {warehouse.file}, built {generated}.")
    target = report_path(warehouse)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, target)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(target)),
            "open": dg.MetadataValue.url(target.as_uri()),
            "charts": [section for section, frame in frames.items() if frame.height],
            "bytes": len(page.encode()),
        }
    )
