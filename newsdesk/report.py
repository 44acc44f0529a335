"""The corpus report of a warehouse: its report queries (sql/report/) run, drawn, and
written next to the warehouse as one HTML page, with the plotly.js it loads beside it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from newsdesk.files import durable_write
from newsdesk.project import SQL_DIR
from newsdesk.snapshots import current_snapshot
from newsdesk.transforms.report_html import SECTIONS, build_report_html, plotly_script_name
from newsdesk.warehouse import Warehouse


def write_corpus_report(warehouse: Warehouse, date_problems: pl.DataFrame) -> tuple[Path, list[str], int, int]:
    """Rebuild the report; returns its path, the sections that have data, its size in bytes and
    the snapshot it describes. date_problems: the failing counts of the date checks (see
    build_report_html)."""
    queries = {section: SQL_DIR / "report" / f"{section}.sql" for section, _, _ in SECTIONS}
    with warehouse.reader() as connection:
        snapshot = current_snapshot(connection)
        frames = {
            name: connection.sql(path.read_text(encoding="utf-8")).pl() for name, path in queries.items() if path.exists()
        }
    frames["date_problems"] = date_problems
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = build_report_html(
        frames, "newsdesk corpus report", f"Warehouse {warehouse.file}, snapshot {snapshot}, built {generated}."
    )
    script = warehouse.report_path.with_name(plotly_script_name())
    if not script.exists():  # one copy for every report of the folder
        from plotly.offline import get_plotlyjs

        with durable_write(script) as temporary:
            temporary.write_text(get_plotlyjs(), encoding="utf-8")
    with durable_write(warehouse.report_path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    sections = [section for section, frame in frames.items() if frame.height]
    return warehouse.report_path, sections, len(page.encode()), snapshot
