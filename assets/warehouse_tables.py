"""The warehouse asset: publish every dump's partition file into the DuckLake tables of the
contract, in one step that alone writes the warehouse (see newsdesk/publish.py). The step
audits its own transaction with the blocking checks before it commits (assets/checks.py)."""

import re
from pathlib import Path

import dagster as dg
import polars as pl
import pydantic

from assets.automation import publish_after_dumps_change
from assets.checks import AUDIT_SUITES, AuditFailed, audit_publish, check_results, check_specs
from assets.keys import PARSED_DUMP, ROW_COUNT, SNAPSHOT_ID, TABLES, WAREHOUSE_GROUP, WAREHOUSE_TABLES_OP
from assets.metadata import markdown_table, table_schema
from assets.resources import DumpsFolder, WarehouseResource
from newsdesk.contents import warehouse_contents
from newsdesk.project import read_sql
from newsdesk.publish import publish, remove_unused_part_files
from newsdesk.removals import DEFAULT_MAX_REMOVED_SHARE, RemovalPolicy
from newsdesk.snapshots import current_snapshot


def table_descriptions() -> dict[str, str]:
    """Each table's meaning, from the comment above its CREATE TABLE in sql/schema.sql."""
    found = re.findall(r"((?:--[^\n]*\n)+)CREATE TABLE IF NOT EXISTS (\w+)", read_sql("schema.sql"))
    return {table: " ".join(line.strip("- ") for line in comment.splitlines()) for comment, table in found}


_DESCRIPTIONS = table_descriptions()


class PublishConfig(dg.Config):
    allow_removals: bool = pydantic.Field(
        default=False,
        description="Take out the dumps that left the dumps folder even when the folder is not the one the "
        "warehouse was built from, or when they are more than max_removed_share of its dumps.",
    )
    max_removed_share: float = pydantic.Field(
        default=DEFAULT_MAX_REMOVED_SHARE, ge=0, le=1, description="Share of the dumps a publish may remove unasked."
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            deps=[PARSED_DUMP],
            group_name=WAREHOUSE_GROUP,
            kinds={"duckdb"},
            description=_DESCRIPTIONS.get(key.path[-1]),
            automation_condition=publish_after_dumps_change,
        )
        for key in TABLES
    ],
    check_specs=check_specs(AUDIT_SUITES),
    name=WAREHOUSE_TABLES_OP,
    can_subset=False,
)
def warehouse_tables(
    context: dg.AssetExecutionContext, config: PublishConfig, dumps: DumpsFolder, warehouse: WarehouseResource
):
    store = warehouse.warehouse
    candidates = {dump.dump_id: store.part_path(dump.dump_id) for dump in dumps.listing().dumps}
    part_files = {dump_id: path for dump_id, path in candidates.items() if path.exists()}
    audit_runs = []

    def audit(connection) -> None:
        audit_runs.extend(audit_publish(connection, warehouse, run_name=context.run.run_id))

    with store.writer(waiting=context.log.warning) as connection:
        try:
            report = publish(
                connection,
                part_files,
                Path(dumps.path),
                RemovalPolicy(allow=config.allow_removals, max_share=config.max_removed_share),
                audit=audit,
                log=context.log.info,
            )
        except AuditFailed as failed:
            yield from check_results(failed.runs, None, warehouse)
            raise dg.Failure(
                description=f"{failed} (readers keep snapshot {current_snapshot(connection)})",
                allow_retries=False,
            ) from None
        contents = warehouse_contents(connection)
        snapshot = current_snapshot(connection)
        schemas = {key: _column_types(connection, key.path[-1]) for key in TABLES}
        previews = {key: connection.sql(f"SELECT * FROM {key.path[-1]} LIMIT 5").pl() for key in TABLES}
    removed_files = remove_unused_part_files(store.parts_dir, part_files.values())  # after the commit
    for dump_id in report.removed:
        context.log.warning(f"dump {dump_id!r} is gone from {dumps.path}: its rows left the warehouse")
    context.log.info(
        f"published {len(report.loaded)} dumps, removed {len(report.removed)} ({removed_files} partition files), "
        f"{len(report.unchanged)} unchanged; rows: {contents.row_counts}"
    )
    extra = {
        "pages": {"pages_by_dump_and_status": dg.MetadataValue.json([list(row) for row in contents.pages_by_dump])},
        "headline_clusters": {"clusters": contents.clusters},
    }
    for key in TABLES:
        table = key.path[-1]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **extra.get(table, {}),
                SNAPSHOT_ID: snapshot,
                ROW_COUNT: contents.row_counts[table],
                "dagster/column_schema": table_schema(schemas[key]),
                "warehouse": dg.MetadataValue.path(str(store.file)),
                "dumps_loaded": report.loaded,
                "dumps_removed": report.removed,
                "preview": dg.MetadataValue.md(markdown_table(_short(previews[key]))),
            },
        )
    yield from check_results(audit_runs, None, warehouse)


def _short(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(frame.columns[:8])


def _column_types(connection, table: str) -> dict[str, str]:
    return dict(connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
