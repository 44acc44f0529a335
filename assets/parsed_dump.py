"""The per-dump asset: read one dump, parse every page, write one partition file atomically."""

import dagster as dg
import polars as pl
import pydantic

from assets.automation import retry_missing_dumps_daily
from assets.keys import DUMP_SIGNATURE, INGEST_GROUP, PARSED_DUMP, ROW_COUNT
from assets.metadata import markdown_table, table_schema
from assets.partitions import dumps_partitions
from assets.resources import DumpsFolder, WarehouseResource
from newsdesk.parsing import DEFAULT_PARSE_THREADS, PART_SCHEMA, write_parsed_dump


class ParseConfig(dg.Config):
    threads: int = pydantic.Field(
        default=DEFAULT_PARSE_THREADS,
        ge=1,
        description="Batches of the dump parsed at once. One per core for a dump parsed alone; "
        "`newsdesk run` gives each of its parallel runs its share of the cores.",
    )


@dg.asset(
    key=PARSED_DUMP,
    partitions_def=dumps_partitions,
    group_name=INGEST_GROUP,
    kinds={"polars", "parquet"},
    automation_condition=retry_missing_dumps_daily,
    description=(
        "One dump, parsed: one row per input page (kept or rejected, with its reason), the "
        "article fields of kept pages with their body's language, and every page's ticker "
        "headlines, written atomically to one Parquet partition file next to the warehouse."
    ),
)
def parsed_dump(
    context: dg.AssetExecutionContext, config: ParseConfig, dumps: DumpsFolder, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    dump = dumps.dump(context.partition_key)
    target = warehouse.warehouse.part_path(dump.dump_id)
    report = write_parsed_dump(dump, target, limits=dumps.read_limits(), threads=config.threads, log=context.log.info)
    rejected = {status: count for status, count in report.by_status.items() if status != "ok"}
    context.log.info(f"{dump.dump_id}: {report.by_status.get('ok', 0)} pages kept, rejected {rejected or 'none'}")
    preview = report.preview if report.preview is not None else pl.DataFrame()
    return dg.MaterializeResult(
        metadata={
            ROW_COUNT: report.pages,
            "dagster/column_schema": table_schema(PART_SCHEMA),
            "pages_kept": report.by_status.get("ok", 0),
            "pages_rejected": sum(rejected.values()),
            "rejected_by_reason": rejected,
            "headline_sightings": report.headline_sightings,
            "bytes_read": report.bytes,
            # As read: a file changed after its read shows up next time.
            DUMP_SIGNATURE: report.signature,
            "partition_file": dg.MetadataValue.path(str(target)),
            "preview": dg.MetadataValue.md(
                markdown_table(preview.select("page_id", "edition", "source", "title", "published_date"))
                if preview.height
                else "_no kept pages_"
            ),
        }
    )
