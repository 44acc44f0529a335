"""The warehouse asset: publish every dump's partition file into the DuckDB tables of the
contract, in one step that alone writes the file (see assets/publish.py)."""


import re
from urllib.parse import unquote

import dagster as dg
import polars as pl

from assets.metadata import markdown_table, table_schema
from assets.parsed_dump import parsed_dump
from assets.project import read_sql
from assets.publish import CONTRACT_TABLES, publish
from orchestration.automation import publish_after_dumps_change
from orchestration.resources import DumpsFolder, Warehouse


def table_descriptions() -> dict[str, str]:
    """Each table's meaning, from the comment above its CREATE TABLE in sql/schema.sql."""
    found = re.findall(r"((?:--[^\n]*\n)+)CREATE TABLE IF NOT EXISTS (\w+)", read_sql("schema.sql"))
    return {table: " ".join(line.strip("- ") for line in comment.splitlines()) for comment, table in found}


_DESCRIPTIONS = table_descriptions()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table,
            deps=[parsed_dump],
            group_name="warehouse",
            kinds={"duckdb"},
            description=_DESCRIPTIONS.get(table),
            automation_condition=publish_after_dumps_change,
        )
        for table in CONTRACT_TABLES
    ],
    can_subset=False,
)
def warehouse_tables(context: dg.AssetExecutionContext, dumps: DumpsFolder, warehouse: Warehouse):
    present = {dump.dump_id for dump in dumps.listing().dumps}
    part_files = {unquote(path.stem): path for path in sorted(warehouse.parts_dir.glob("*.parquet"))}
    stale = {dump_id: path for dump_id, path in part_files.items() if dump_id not in present}
    for dump_id in stale:
        context.log.warning(f"dump {dump_id!r} is gone from {dumps.path}: its rows leave the warehouse")
    with warehouse.writer() as connection:
        report = publish(connection, {d: p for d, p in part_files.items() if d not in stale})
        schemas = {table: _column_types(connection, table) for table in CONTRACT_TABLES}
        pages_by_status = connection.execute(
            "SELECT dump_id, status, count(*) FROM pages GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        clusters = connection.execute("SELECT count(DISTINCT cluster_id) FROM headline_clusters").fetchall()[0][0]
        previews = {table: connection.sql(f"SELECT * FROM {table} LIMIT 5").pl() for table in CONTRACT_TABLES}
    for path in stale.values():
        path.unlink(missing_ok=True)  # after the commit: a crash before it leaves the rows and the file
    context.log.info(
        f"published {len(report.loaded)} dumps, removed {len(report.removed)}, "
        f"{len(report.unchanged)} unchanged; rows: {report.row_counts}"
    )
    extra = {
        "pages": {"pages_by_dump_and_status": dg.MetadataValue.json([list(row) for row in pages_by_status])},
        "headline_clusters": {"clusters": clusters},
    }
    for table in CONTRACT_TABLES:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                **extra.get(table, {}),
                "dagster/row_count": report.row_counts[table],
                "dagster/column_schema": table_schema(schemas[table]),
                "warehouse": dg.MetadataValue.path(str(warehouse.file)),
                "dumps_loaded": report.loaded,
                "dumps_removed": report.removed,
                "preview": dg.MetadataValue.md(markdown_table(_short(previews[table]))),
            },
        )


def _short(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(frame.columns[:8])


def _column_types(connection, table: str) -> dict[str, str]:
    return dict(connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
